// ZSetCommands.cpp — the kv commands on sorted sets: ZADD (NX, XX, GT, LT,
// CH, INCR), ZRANGE by rank (REV, WITHSCORES), ZPOPMIN, ZCARD, ZSCORE, ZREM.
#include "CommandSupport.h"

#include <cmath>
#include <iterator>
#include <vector>

namespace portico::kv {
namespace {

struct ZaddOptions {
    bool nx = false, xx = false, gt = false, lt = false, ch = false, incr = false;
};

// Validates everything before the first change, so ZADD either applies all
// its pairs or none, as in Redis.
void zadd(Request &r) {
    ZaddOptions o;
    std::size_t i = 2;
    for (; i < r.args.size(); ++i) {
        const std::string option = lower(r.args[i]);
        if (option == "nx")
            o.nx = true;
        else if (option == "xx")
            o.xx = true;
        else if (option == "gt")
            o.gt = true;
        else if (option == "lt")
            o.lt = true;
        else if (option == "ch")
            o.ch = true;
        else if (option == "incr")
            o.incr = true;
        else
            break;
    }
    const std::size_t elements = r.args.size() - i;
    if (elements == 0 || elements % 2 != 0) throw CommandError(syntax_error);
    if (o.xx && o.nx) throw CommandError("ERR XX and NX options at the same time are not compatible");
    if ((o.gt && o.nx) || (o.lt && o.nx) || (o.gt && o.lt))
        throw CommandError("ERR GT, LT, and/or NX options at the same time are not compatible");
    if (o.incr && elements > 2) throw CommandError("ERR INCR option supports a single increment-element pair");
    std::vector<double> scores;
    for (std::size_t j = i; j < r.args.size(); j += 2)
        scores.push_back(float_arg(r.args[j]));

    SortedSet *zset = r.keys.find_as<SortedSet>(r.args[1], r.now);
    if (zset == nullptr && o.xx) return o.incr ? resp::append_null(r.out) : resp::append_integer(r.out, 0);
    if (zset == nullptr) zset = &r.keys.obtain<SortedSet>(r.args[1], r.now);

    int64_t added = 0, updated = 0;
    bool processed = false;
    double last = 0;
    for (std::size_t k = 0; k < scores.size(); ++k) {
        const std::string_view member = r.args[i + 2 * k + 1];
        double score = scores[k];
        const auto current = zset->score(member);
        if (current) {
            if (o.nx) continue;
            if (o.incr) {
                score += *current;
                if (std::isnan(score)) {
                    r.keys.erase_if_empty(r.args[1]);
                    throw CommandError("ERR resulting score is not a number (NaN)");
                }
            }
            if ((o.gt && score <= *current) || (o.lt && score >= *current)) continue;
            if (score != *current) {
                zset->assign(member, score);
                ++updated;
            }
        } else {
            if (o.xx) continue;
            zset->assign(member, score);
            ++added;
        }
        processed = true;
        last = score;
    }
    r.keys.erase_if_empty(r.args[1]);
    if (!o.incr) return resp::append_integer(r.out, o.ch ? added + updated : added);
    if (processed)
        resp::append_double(r.out, last);
    else
        resp::append_null(r.out);
}

template <class It> void append_members(std::string &out, It it, std::size_t count, bool with_scores) {
    resp::append_array(out, with_scores ? count * 2 : count);
    for (std::size_t n = 0; n < count; ++n, ++it) {
        resp::append_bulk(out, it->second);
        if (with_scores) resp::append_double(out, it->first);
    }
}

void zrange(Request &r) {
    bool with_scores = false, rev = false;
    for (std::size_t i = 4; i < r.args.size(); ++i) {
        const std::string option = lower(r.args[i]);
        if (option == "withscores")
            with_scores = true;
        else if (option == "rev")
            rev = true;
        else if (option == "byscore" || option == "bylex" || option == "limit")
            throw CommandError("ERR ZRANGE " + lower(option) + " is not supported by the kv plugin (by rank only)");
        else
            throw CommandError(syntax_error);
    }
    const int64_t start = integer_arg(r.args[2]), stop = integer_arg(r.args[3]);
    const SortedSet *zset = r.keys.find_as<SortedSet>(r.args[1], r.now);
    std::size_t first = 0, last = 0;
    if (zset == nullptr || !clamp_range(start, stop, zset->size(), first, last)) return resp::append_array(r.out, 0);
    const auto &ordered = zset->ordered();
    const auto skip = static_cast<std::ptrdiff_t>(first);
    if (rev)
        append_members(r.out, std::next(ordered.rbegin(), skip), last - first + 1, with_scores);
    else
        append_members(r.out, std::next(ordered.begin(), skip), last - first + 1, with_scores);
}

// RESP2: a flat array of member, score pairs, with or without a count.
void zpopmin(Request &r) {
    if (r.args.size() > 3) throw CommandError(syntax_error);
    const std::size_t count = r.args.size() == 3 ? count_arg(r.args[2]) : 1;
    SortedSet *zset = r.keys.find_as<SortedSet>(r.args[1], r.now);
    if (zset == nullptr) return resp::append_array(r.out, 0);
    const auto popped = zset->pop_min(count);
    r.keys.erase_if_empty(r.args[1]);
    resp::append_array(r.out, popped.size() * 2);
    for (const auto &[score, member] : popped) {
        resp::append_bulk(r.out, member);
        resp::append_double(r.out, score);
    }
}

void zcard(Request &r) {
    const SortedSet *zset = r.keys.find_as<SortedSet>(r.args[1], r.now);
    resp::append_integer(r.out, zset ? static_cast<int64_t>(zset->size()) : 0);
}

void zscore(Request &r) {
    const SortedSet *zset = r.keys.find_as<SortedSet>(r.args[1], r.now);
    const auto score = zset ? zset->score(r.args[2]) : std::nullopt;
    if (score)
        resp::append_double(r.out, *score);
    else
        resp::append_null(r.out);
}

void zrem(Request &r) {
    SortedSet *zset = r.keys.find_as<SortedSet>(r.args[1], r.now);
    int64_t removed = 0;
    if (zset != nullptr) {
        for (std::size_t i = 2; i < r.args.size(); ++i)
            removed += zset->erase(r.args[i]) ? 1 : 0;
        r.keys.erase_if_empty(r.args[1]);
    }
    resp::append_integer(r.out, removed);
}

constexpr CommandSpec specs[] = {
    {"zadd", -4, "write", 1, 1, 1, zadd},       {"zrange", -4, "readonly", 1, 1, 1, zrange},
    {"zpopmin", -2, "write", 1, 1, 1, zpopmin}, {"zcard", 2, "readonly", 1, 1, 1, zcard},
    {"zscore", 3, "readonly", 1, 1, 1, zscore}, {"zrem", -3, "write", 1, 1, 1, zrem},
};

} // namespace

std::span<const CommandSpec> zset_commands() {
    return specs;
}

} // namespace portico::kv
