// ListCommands.cpp — the kv commands on lists: LPUSH/RPUSH, LPOP/RPOP (with
// a count), LRANGE and LLEN.
#include "CommandSupport.h"

namespace portico::kv {
namespace {

void push(Request &r, bool left) {
    List &list = r.keys.obtain<List>(r.args[1], r.now);
    for (std::size_t i = 2; i < r.args.size(); ++i) {
        if (left)
            list.emplace_front(r.args[i]);
        else
            list.emplace_back(r.args[i]);
    }
    resp::append_integer(r.out, static_cast<int64_t>(list.size()));
}

void lpush(Request &r) {
    push(r, true);
}
void rpush(Request &r) {
    push(r, false);
}

// Without a count: the element or nil. With one: an array, or a nil array
// when the key is missing.
void pop(Request &r, bool left) {
    const char *name = left ? "lpop" : "rpop";
    if (r.args.size() > 3) wrong_arity(name);
    const bool counted = r.args.size() == 3;
    const std::size_t count = counted ? count_arg(r.args[2]) : 1;
    List *list = r.keys.find_as<List>(r.args[1], r.now);
    if (list == nullptr) return counted ? resp::append_null_array(r.out) : resp::append_null(r.out);
    const std::size_t n = std::min(count, list->size());
    if (counted) resp::append_array(r.out, n);
    for (std::size_t i = 0; i < n; ++i) {
        if (left) {
            resp::append_bulk(r.out, list->front());
            list->pop_front();
        } else {
            resp::append_bulk(r.out, list->back());
            list->pop_back();
        }
    }
    r.keys.erase_if_empty(r.args[1]);
}

void lpop(Request &r) {
    pop(r, true);
}
void rpop(Request &r) {
    pop(r, false);
}

void lrange(Request &r) {
    const int64_t start = integer_arg(r.args[2]), stop = integer_arg(r.args[3]);
    const List *list = r.keys.find_as<List>(r.args[1], r.now);
    std::size_t first = 0, last = 0;
    if (list == nullptr || !clamp_range(start, stop, list->size(), first, last)) return resp::append_array(r.out, 0);
    resp::append_array(r.out, last - first + 1);
    for (auto it = list->begin() + static_cast<std::ptrdiff_t>(first); first <= last; ++first, ++it)
        resp::append_bulk(r.out, *it);
}

void llen(Request &r) {
    const List *list = r.keys.find_as<List>(r.args[1], r.now);
    resp::append_integer(r.out, list ? static_cast<int64_t>(list->size()) : 0);
}

constexpr CommandSpec specs[] = {
    {"lpush", -3, "write", 1, 1, 1, lpush},     {"rpush", -3, "write", 1, 1, 1, rpush},
    {"lpop", -2, "write", 1, 1, 1, lpop},       {"rpop", -2, "write", 1, 1, 1, rpop},
    {"lrange", 4, "readonly", 1, 1, 1, lrange}, {"llen", 2, "readonly", 1, 1, 1, llen},
};

} // namespace

std::span<const CommandSpec> list_commands() {
    return specs;
}

} // namespace portico::kv
