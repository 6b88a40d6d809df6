// Logging.cpp — Poco channel set-up; the JSON formatter writes one object per
// line so log shippers need no parser of their own.
#include "app/Logging.h"

#include <Poco/AutoPtr.h>
#include <Poco/Channel.h>
#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/FormattingChannel.h>
#include <Poco/Formatter.h>
#include <Poco/Logger.h>
#include <Poco/Message.h>
#include <Poco/PatternFormatter.h>

#include <cerrno>
#include <stdexcept>

#include <unistd.h>

namespace portico::host {
namespace {

std::string json_escape(const std::string &text) {
    std::string out;
    out.reserve(text.size() + 8);
    for (const char c : text) {
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (static_cast<unsigned char>(c) < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
                out += buf;
            } else {
                out += c;
            }
        }
    }
    return out;
}

const char *level_name(Poco::Message::Priority p) {
    switch (p) {
    case Poco::Message::PRIO_FATAL: return "fatal";
    case Poco::Message::PRIO_CRITICAL: return "critical";
    case Poco::Message::PRIO_ERROR: return "error";
    case Poco::Message::PRIO_WARNING: return "warning";
    case Poco::Message::PRIO_NOTICE: return "notice";
    case Poco::Message::PRIO_INFORMATION: return "information";
    case Poco::Message::PRIO_DEBUG: return "debug";
    default: return "trace";
    }
}

class JsonLineFormatter : public Poco::Formatter {
public:
    void format(const Poco::Message &msg, std::string &text) override {
        text = "{\"time\":\"" + Poco::DateTimeFormatter::format(msg.getTime(), Poco::DateTimeFormat::ISO8601_FRAC_FORMAT) +
               "\",\"level\":\"" + level_name(msg.getPriority()) + "\",\"logger\":\"" + json_escape(msg.getSource()) +
               "\",\"message\":\"" + json_escape(msg.getText()) + "\"";
        // Structured lines (the access log) carry their fields pre-rendered.
        if (msg.has("fields")) text += ",\"fields\":" + msg.get("fields");
        text += "}";
    }
};

// Each line goes to stderr in one write(2). Worker processes (mode: process)
// share stderr with the host; ConsoleChannel writes text and newline
// separately, and lines of two processes would then interleave mid-line.
class StderrLineChannel : public Poco::Channel {
public:
    void log(const Poco::Message &msg) override {
        const std::string line = msg.getText() + "\n";
        for (std::size_t done = 0; done < line.size();) {
            const ssize_t n = ::write(STDERR_FILENO, line.data() + done, line.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return; // nowhere to report a failing stderr
            done += static_cast<std::size_t>(n);
        }
    }
};

void install(Poco::Formatter *formatter, int level) {
    Poco::AutoPtr<Poco::Formatter> f(formatter);
    Poco::AutoPtr<Poco::Channel> console(new StderrLineChannel);
    Poco::AutoPtr<Poco::FormattingChannel> channel(new Poco::FormattingChannel(f, console));
    Poco::Logger::root().setChannel(channel);
    Poco::Logger::root().setLevel(level);
    // Loggers made before this point keep their old channel: update them all.
    Poco::Logger::setChannel("", channel);
    Poco::Logger::setLevel("", level);
}

Poco::Formatter *text_formatter() {
    return new Poco::PatternFormatter("%Y-%m-%d %H:%M:%S.%i [%p] %s: %t");
}

} // namespace

void setup_default_logging() { install(text_formatter(), Poco::Message::PRIO_INFORMATION); }

void setup_logging(const LoggingConfig &config) {
    int level = 0;
    try {
        level = Poco::Logger::parseLevel(config.level);
    } catch (const Poco::Exception &) {
        throw std::invalid_argument("unknown logging level '" + config.level + "'");
    }
    install(config.format == "json" ? static_cast<Poco::Formatter *>(new JsonLineFormatter) : text_formatter(), level);
}

} // namespace portico::host
