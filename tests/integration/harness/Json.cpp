// Json.cpp — recursive descent over RFC 8259, \u escapes decoded to UTF-8.
#include "harness/Json.h"

#include "harness/HarnessError.h"

#include <cstdlib>

namespace portico::test {

class JsonReader {
  public:
    explicit JsonReader(std::string_view text) : text_(text) {}

    Json document() {
        Json value = read_value(0);
        skip_space();
        if (pos_ != text_.size()) fail("text after the document");
        return value;
    }

  private:
    [[noreturn]] void fail(const std::string &what) const {
        throw HarnessError("Json: " + what + " at offset " + std::to_string(pos_) + " near \"" +
                           std::string(text_.substr(pos_ > 20 ? pos_ - 20 : 0, 60)) + "\"");
    }
    void skip_space() {
        while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\r' ||
                                       text_[pos_] == '\t'))
            ++pos_;
    }
    char peek() {
        skip_space();
        if (pos_ >= text_.size()) fail("unexpected end");
        return text_[pos_];
    }
    void expect(char c) {
        if (peek() != c) fail(std::string("expected '") + c + "'");
        ++pos_;
    }
    bool literal(std::string_view word) {
        if (text_.substr(pos_, word.size()) != word) return false;
        pos_ += word.size();
        return true;
    }

    Json read_value(int depth) {
        if (depth > 64) fail("nesting too deep");
        Json v;
        const char c = peek();
        if (c == '{') {
            v.type_ = Json::Type::object;
            ++pos_;
            if (peek() == '}') { ++pos_; return v; }
            for (;;) {
                if (peek() != '"') fail("expected a member name");
                std::string key = read_string();
                expect(':');
                v.object_[key] = read_value(depth + 1);
                if (peek() == ',') { ++pos_; continue; }
                expect('}');
                return v;
            }
        }
        if (c == '[') {
            v.type_ = Json::Type::array;
            ++pos_;
            if (peek() == ']') { ++pos_; return v; }
            for (;;) {
                v.array_.push_back(read_value(depth + 1));
                if (peek() == ',') { ++pos_; continue; }
                expect(']');
                return v;
            }
        }
        if (c == '"') {
            v.type_ = Json::Type::string;
            v.string_ = read_string();
            return v;
        }
        if (literal("true")) { v.type_ = Json::Type::boolean; v.boolean_ = true; return v; }
        if (literal("false")) { v.type_ = Json::Type::boolean; return v; }
        if (literal("null")) return v;
        const std::string rest(text_.substr(pos_, 64));
        char *end = nullptr;
        v.number_ = std::strtod(rest.c_str(), &end);
        if (end == rest.c_str() || !(c == '-' || (c >= '0' && c <= '9'))) fail("expected a value");
        pos_ += static_cast<std::size_t>(end - rest.c_str());
        v.type_ = Json::Type::number;
        return v;
    }

    void append_utf8(std::string &out, unsigned cp) {
        if (cp < 0x80) out += static_cast<char>(cp);
        else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            out += static_cast<char>(0xE0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        }
    }

    std::string read_string() {
        expect('"');
        std::string out;
        while (pos_ < text_.size()) {
            const char c = text_[pos_++];
            if (c == '"') return out;
            if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string");
            if (c != '\\') { out += c; continue; }
            if (pos_ >= text_.size()) break;
            const char e = text_[pos_++];
            switch (e) {
            case '"': case '\\': case '/': out += e; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'u': {
                if (pos_ + 4 > text_.size()) fail("short \\u escape");
                append_utf8(out, static_cast<unsigned>(std::stoul(std::string(text_.substr(pos_, 4)), nullptr, 16)));
                pos_ += 4;
                break;
            }
            default: fail("bad escape");
            }
        }
        fail("unterminated string");
    }

    std::string_view text_;
    std::size_t pos_ = 0;
};

Json Json::parse(std::string_view text) { return JsonReader(text).document(); }

namespace {
[[noreturn]] void wrong_type(const char *wanted) { throw HarnessError(std::string("Json: value is not ") + wanted); }
} // namespace

bool Json::boolean() const { if (type_ != Type::boolean) wrong_type("a boolean"); return boolean_; }
double Json::number() const { if (type_ != Type::number) wrong_type("a number"); return number_; }
const std::string &Json::string() const { if (type_ != Type::string) wrong_type("a string"); return string_; }
const std::vector<Json> &Json::array() const { if (type_ != Type::array) wrong_type("an array"); return array_; }
const std::map<std::string, Json> &Json::object() const {
    if (type_ != Type::object) wrong_type("an object");
    return object_;
}

const Json &Json::operator[](const std::string &key) const {
    const auto &members = object();
    const auto found = members.find(key);
    if (found == members.end()) throw HarnessError("Json: no member '" + key + "'");
    return found->second;
}

const Json &Json::operator[](std::size_t index) const {
    const auto &items = array();
    if (index >= items.size())
        throw HarnessError("Json: index " + std::to_string(index) + " out of " + std::to_string(items.size()));
    return items[index];
}

bool Json::has(const std::string &key) const { return type_ == Type::object && object_.count(key) != 0; }

std::size_t Json::size() const { return type_ == Type::object ? object_.size() : array().size(); }

} // namespace portico::test
