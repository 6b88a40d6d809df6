// Json.h — a small JSON reader for tests that check the admin server's
// answers (the integration test binary links no Poco). Strict enough to
// reject malformed documents; numbers are doubles.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace portico::test {

class Json {
  public:
    enum class Type { null, boolean, number, string, array, object };

    // Throws HarnessError naming the offset of the first problem.
    static Json parse(std::string_view text);

    Type type() const { return type_; }
    bool is_null() const { return type_ == Type::null; }
    // Each accessor throws HarnessError when the value has another type.
    bool boolean() const;
    double number() const;
    const std::string &string() const;
    const std::vector<Json> &array() const;
    const std::map<std::string, Json> &object() const;

    // Object member / array element; throws HarnessError when missing.
    const Json &operator[](const std::string &key) const;
    const Json &operator[](std::size_t index) const;
    bool has(const std::string &key) const;
    std::size_t size() const;

  private:
    friend class JsonReader;
    Type type_ = Type::null;
    bool boolean_ = false;
    double number_ = 0;
    std::string string_;
    std::vector<Json> array_;
    std::map<std::string, Json> object_;
};

} // namespace portico::test
