// Topic names, filters and matching: the examples of MQTT 3.1.1 / 5.0 sections 4.7.1.2,
// 4.7.1.3, 4.7.2 and 4.7.3, shared subscriptions of 5.0 section 4.8.2, and edge cases.
#include <coromq/topic/topic.hpp>

#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

using coromq::topic::matches;
using coromq::topic::parse_shared;
using coromq::topic::split;
using coromq::topic::valid_filter;
using coromq::topic::valid_name;

namespace {

// A filter that matches must be a valid filter and the name a valid name; checking that
// here keeps every example below honest.
bool match(std::string_view filter, std::string_view name) {
    REQUIRE(valid_filter(filter));
    REQUIRE(valid_name(name));
    return matches(filter, name);
}

} // namespace

TEST_SUITE_BEGIN("topic");

// --- 4.7.1.2 Multi-level wildcard ------------------------------------------------------------

TEST_CASE("4.7.1.2 sport/tennis/player1/# matches the parent and every level below") {
    CHECK(match("sport/tennis/player1/#", "sport/tennis/player1"));
    CHECK(match("sport/tennis/player1/#", "sport/tennis/player1/ranking"));
    CHECK(match("sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon"));
    CHECK_FALSE(match("sport/tennis/player1/#", "sport/tennis/player2"));
    CHECK_FALSE(match("sport/tennis/player1/#", "sport/tennis"));
}

TEST_CASE("4.7.1.2 sport/# also matches the singular sport") {
    CHECK(match("sport/#", "sport"));
    CHECK(match("sport/#", "sport/"));
    CHECK(match("sport/#", "sport/tennis"));
    CHECK_FALSE(match("sport/#", "sports"));
    CHECK_FALSE(match("sport/#", "spor"));
    CHECK_FALSE(match("sport/#", "/sport"));
}

TEST_CASE("4.7.1.2 # is valid and receives every application message") {
    CHECK(valid_filter("#"));
    CHECK(match("#", "sport"));
    CHECK(match("#", "sport/tennis/player1"));
    CHECK(match("#", "/"));
    CHECK(match("#", "/finance"));
    CHECK(match("#", "a//b/"));
}

TEST_CASE("[MQTT-4.7.1-2] multi-level wildcard must be on its own or after a separator") {
    CHECK(valid_filter("sport/tennis/#"));
    CHECK(valid_filter("+/#"));
    CHECK(valid_filter("/#"));
    CHECK_FALSE(valid_filter("sport/tennis#"));
    CHECK_FALSE(valid_filter("sport#"));
    CHECK_FALSE(valid_filter("#sport"));
}

TEST_CASE("[MQTT-4.7.1-2] multi-level wildcard must be last") {
    CHECK_FALSE(valid_filter("sport/tennis/#/ranking"));
    CHECK_FALSE(valid_filter("#/"));
    CHECK_FALSE(valid_filter("#/#"));
    CHECK_FALSE(valid_filter("##"));
    CHECK_FALSE(valid_filter("sport/#/"));
}

// --- 4.7.1.3 Single-level wildcard -----------------------------------------------------------

TEST_CASE("4.7.1.3 sport/tennis/+ matches exactly one level") {
    CHECK(match("sport/tennis/+", "sport/tennis/player1"));
    CHECK(match("sport/tennis/+", "sport/tennis/player2"));
    CHECK_FALSE(match("sport/tennis/+", "sport/tennis/player1/ranking"));
    CHECK_FALSE(match("sport/tennis/+", "sport/tennis"));
    CHECK(match("sport/tennis/+", "sport/tennis/")); // one empty level
}

TEST_CASE("4.7.1.3 sport/+ does not match sport but does match sport/") {
    CHECK_FALSE(match("sport/+", "sport"));
    CHECK(match("sport/+", "sport/"));
}

TEST_CASE("[MQTT-4.7.1-3] single-level wildcard must occupy an entire level") {
    CHECK(valid_filter("+"));
    CHECK(valid_filter("+/tennis/#"));
    CHECK(valid_filter("sport/+/player1"));
    CHECK(valid_filter("+/+"));
    CHECK(valid_filter("/+"));
    CHECK(valid_filter("+/"));
    CHECK_FALSE(valid_filter("++/"));
    CHECK_FALSE(valid_filter("sport+"));
    CHECK_FALSE(valid_filter("+sport"));
    CHECK_FALSE(valid_filter("sport/+tennis"));
    CHECK_FALSE(valid_filter("sport/tennis+/x"));
    CHECK_FALSE(valid_filter("+#"));
    CHECK_FALSE(valid_filter("#+"));
}

TEST_CASE("4.7.1.3 sport/+/player1 matches any second level") {
    CHECK(match("sport/+/player1", "sport/tennis/player1"));
    CHECK(match("sport/+/player1", "sport//player1"));
    CHECK_FALSE(match("sport/+/player1", "sport/tennis/player2"));
    CHECK_FALSE(match("sport/+/player1", "sport/tennis/x/player1"));
}

TEST_CASE("4.7.1.3 /finance matches +/+ and /+ but not +") {
    CHECK(match("+/+", "/finance"));
    CHECK(match("/+", "/finance"));
    CHECK_FALSE(match("+", "/finance"));
}

TEST_CASE("4.7.1.3 + and # combined") {
    CHECK(match("+/tennis/#", "sport/tennis"));
    CHECK(match("+/tennis/#", "sport/tennis/player1/ranking"));
    CHECK_FALSE(match("+/tennis/#", "sport/golf"));
    CHECK(match("+/#", "sport"));
    CHECK(match("+/+/#", "a/b"));
    CHECK_FALSE(match("+/+/#", "a"));
}

// --- 4.7.2 Topics beginning with $ -----------------------------------------------------------

TEST_CASE("[MQTT-4.7.2-1] # does not match a topic beginning with $") {
    CHECK_FALSE(match("#", "$SYS"));
    CHECK_FALSE(match("#", "$SYS/broker/clients"));
    CHECK_FALSE(match("#", "$"));
    CHECK_FALSE(match("#", "$share-like"));
}

TEST_CASE("[MQTT-4.7.2-1] +/monitor/Clients does not match $SYS/monitor/Clients") {
    CHECK_FALSE(match("+/monitor/Clients", "$SYS/monitor/Clients"));
    CHECK(match("+/monitor/Clients", "SYS/monitor/Clients"));
    CHECK_FALSE(match("+", "$SYS"));
    CHECK_FALSE(match("+/#", "$SYS/x"));
}

TEST_CASE("4.7.2 $SYS/# receives topics beginning with $SYS/") {
    CHECK(match("$SYS/#", "$SYS/x"));
    CHECK(match("$SYS/#", "$SYS/broker/load/bytes"));
    CHECK(match("$SYS/#", "$SYS")); // '#' includes the parent level
    CHECK_FALSE(match("$SYS/#", "$SYSTEM/x"));
    CHECK_FALSE(match("$SYS/#", "SYS/x"));
}

TEST_CASE("4.7.2 $SYS/monitor/+ receives $SYS/monitor/Clients") {
    CHECK(match("$SYS/monitor/+", "$SYS/monitor/Clients"));
    CHECK_FALSE(match("$SYS/monitor/+", "$SYS/monitor"));
}

TEST_CASE("4.7.2 a $ past the first level is an ordinary character") {
    CHECK(match("#", "a/$SYS"));
    CHECK(match("a/+", "a/$x"));
    CHECK(match("+/$x", "a/$x"));
}

// --- 4.7.3 Topic semantic and usage ----------------------------------------------------------

TEST_CASE("[MQTT-4.7.3-1] names and filters are at least one character long") {
    CHECK_FALSE(valid_name(""));
    CHECK_FALSE(valid_filter(""));
    CHECK_FALSE(matches("", ""));
    CHECK_FALSE(matches("#", ""));
    CHECK_FALSE(matches("+", ""));
    CHECK_FALSE(matches("", "a"));
}

TEST_CASE("[MQTT-4.7.1-1] wildcards must not be used within a topic name") {
    CHECK(valid_name("sport/tennis/player1"));
    CHECK_FALSE(valid_name("sport/+"));
    CHECK_FALSE(valid_name("sport/#"));
    CHECK_FALSE(valid_name("+"));
    CHECK_FALSE(valid_name("#"));
    CHECK_FALSE(valid_name("a+b"));
    CHECK_FALSE(valid_name("a#b"));
}

TEST_CASE("4.7.3 names are case sensitive, may hold spaces, and '/' alone is valid") {
    CHECK_FALSE(match("ACCOUNTS", "Accounts"));
    CHECK(match("Accounts payable", "Accounts payable"));
    CHECK(valid_name("/"));
    CHECK(valid_filter("/"));
    CHECK(match("/", "/"));
    CHECK_FALSE(match("/", "//"));
}

TEST_CASE("4.7.3 a leading or trailing / creates a distinct topic") {
    CHECK_FALSE(match("finance", "/finance"));
    CHECK_FALSE(match("/finance", "finance"));
    CHECK_FALSE(match("finance", "finance/"));
    CHECK_FALSE(match("finance/", "finance"));
    CHECK(match("finance/", "finance/"));
}

TEST_CASE("[MQTT-4.7.3-4] no normalisation: bytes compare as they are") {
    CHECK_FALSE(match("caf\xc3\xa9", "cafe\xcc\x81")); // NFC vs NFD of the same text
    CHECK(match("caf\xc3\xa9/+", "caf\xc3\xa9/x"));
    CHECK_FALSE(match("a", "a "));
}

// --- edge cases ------------------------------------------------------------------------------

TEST_CASE("empty levels") {
    CHECK(match("+/+", "/"));
    CHECK(match("+", "a"));
    CHECK_FALSE(match("+", "/"));
    CHECK(match("a//b", "a//b"));
    CHECK_FALSE(match("a//b", "a/b"));
    CHECK(match("a/+/b", "a//b"));
    CHECK(match("+/+/+", "//"));
    CHECK_FALSE(match("+/+/+", "/"));
    CHECK(match("a/#", "a/"));
    CHECK(match("a/#", "a//"));
    CHECK(match("/#", "/"));
    CHECK(match("//#", "/"));
}

TEST_CASE("# alone and + alone") {
    CHECK(match("#", "a"));
    CHECK(match("#", "a/b/c"));
    CHECK(match("+", "a"));
    CHECK(match("+", "abc"));
    CHECK_FALSE(match("+", "a/b"));
    CHECK_FALSE(match("+", "a/"));
}

TEST_CASE("literal levels must match exactly") {
    CHECK(match("a/b/c", "a/b/c"));
    CHECK_FALSE(match("a/b/c", "a/b"));
    CHECK_FALSE(match("a/b", "a/b/c"));
    CHECK_FALSE(match("a/bc", "a/b"));
    CHECK_FALSE(match("a/b", "a/bc"));
    CHECK_FALSE(match("a/b/", "a/b"));
}

TEST_CASE("matches on invalid filters is false rather than undefined") {
    CHECK_FALSE(matches("#/a", "x/a"));
    CHECK_FALSE(matches("+a", "xa"));
    CHECK_FALSE(matches("a/+b", "a/xb"));
}

TEST_CASE("split keeps empty levels") {
    using levels = std::vector<std::string_view>;
    CHECK(split("a//b") == levels{"a", "", "b"});
    CHECK(split("a") == levels{"a"});
    CHECK(split("/") == levels{"", ""});
    CHECK(split("/finance") == levels{"", "finance"});
    CHECK(split("sport/tennis/") == levels{"sport", "tennis", ""});
    CHECK(split("") == levels{""});
    CHECK(split("$SYS/#") == levels{"$SYS", "#"});
}

// --- 5.0 section 4.8.2 Shared subscriptions --------------------------------------------------

TEST_CASE("4.8.2 $share/consumer1/sport/tennis/+ is group consumer1, filter sport/tennis/+") {
    const auto s = parse_shared("$share/consumer1/sport/tennis/+");
    REQUIRE(s);
    CHECK(s->group == "consumer1");
    CHECK(s->filter == "sport/tennis/+");
}

TEST_CASE("4.8.2 $share/consumer1//finance has the filter /finance") {
    const auto s = parse_shared("$share/consumer1//finance");
    REQUIRE(s);
    CHECK(s->group == "consumer1");
    CHECK(s->filter == "/finance");
}

TEST_CASE("4.8.2 shared filters with wildcards and $SYS") {
    const auto all = parse_shared("$share/g/#");
    REQUIRE(all);
    CHECK(all->filter == "#");
    const auto sys = parse_shared("$share/g/$SYS/#");
    REQUIRE(sys);
    CHECK(sys->filter == "$SYS/#");
    CHECK(matches(sys->filter, "$SYS/x"));
    CHECK_FALSE(matches(all->filter, "$SYS/x"));
}

TEST_CASE("[MQTT-4.8.2-1] the ShareName is at least one character long") {
    CHECK_FALSE(parse_shared("$share//sport"));
    CHECK_FALSE(parse_shared("$share//"));
}

TEST_CASE("[MQTT-4.8.2-2] the ShareName has no + or # and is followed by / and a filter") {
    CHECK_FALSE(parse_shared("$share/a+b/sport"));
    CHECK_FALSE(parse_shared("$share/+/sport"));
    CHECK_FALSE(parse_shared("$share/#/sport"));
    CHECK_FALSE(parse_shared("$share/g#"));
    CHECK_FALSE(parse_shared("$share/group"));
    CHECK_FALSE(parse_shared("$share/group/"));
    CHECK_FALSE(parse_shared("$share/"));
    CHECK_FALSE(parse_shared("$share"));
}

TEST_CASE("4.8.2 filters that are not shared subscriptions") {
    CHECK_FALSE(parse_shared("sport/tennis"));
    CHECK_FALSE(parse_shared("$SHARE/g/sport")); // the prefix is case sensitive
    CHECK_FALSE(parse_shared("$shared/g/sport"));
    CHECK_FALSE(parse_shared("share/g/sport"));
    CHECK_FALSE(parse_shared("$SYS/#"));
    CHECK_FALSE(parse_shared(""));
}

TEST_CASE("4.8.2 the inner filter is returned unvalidated for valid_filter to judge") {
    const auto s = parse_shared("$share/g/sport#");
    REQUIRE(s);
    CHECK(s->filter == "sport#");
    CHECK_FALSE(valid_filter(s->filter));
}

TEST_SUITE_END();
