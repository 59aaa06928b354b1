// The built-in plugins' file formats and matchers: Mosquitto password files (hashes made by
// Debian's mosquitto_passwd 2.0.11) and ACL files, and the filter covering / overlap rules
// that subscription access control is built on.
#include "plugins/acl_file.hpp"
#include "plugins/loader.hpp"
#include "plugins/password_file.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace coromq::plugins;

namespace {

// `mosquitto_passwd -c -b FILE alice secret` (sha512-pbkdf2, 101 iterations) and
// `mosquitto_passwd -H sha512 -b FILE bob hunter2`.
constexpr const char* alice_line = "alice:$7$101$7y22UzHbrsZdqpa+$OULIz4nez92lpQlVL1DOZsWA+D7Srm7H"
                                   "nWOqmZokiGMLioNHk45eOXOd6InJzro3bzi7R9zQX88GOga3tQxBaQ==";
constexpr const char* bob_line = "bob:$6$9Qeh3ZQ6TJ+Xi6MX$dpbsbdlQfMsy6NRcxCYuIbWOrJj5MzaBgpX8NyG"
                                 "DBkhX6mTwIg1gevneOULZPPyV6O6kq0QwgNI3yRiAcZOtlg==";

/// The message of the file_error `fn` throws ("" when it throws none).
template <class Fn>
std::string error_of(Fn fn) {
    try {
        fn();
    } catch (const file_error& e) {
        return e.what();
    }
    return {};
}

bool sub(const acl_db& db, std::optional<std::string> user, std::string_view id,
         std::string_view filter) {
    return db.may_subscribe(user, id, filter);
}
bool pub(const acl_db& db, std::optional<std::string> user, std::string_view id,
         std::string_view topic) {
    return db.may_publish(user, id, topic);
}

} // namespace

TEST_SUITE_BEGIN("plugins");

// --- base64 -----------------------------------------------------------------------------------

TEST_CASE("base64: RFC 4648 test vectors both ways") {
    const std::pair<const char*, const char*> vectors[] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    for (const auto& [plain, encoded] : vectors) {
        CHECK(base64_encode(plain) == encoded);
        std::string out;
        CHECK(base64_decode(encoded, out));
        CHECK(out == plain);
    }
}

TEST_CASE("base64: malformed input is refused") {
    std::string out;
    CHECK_FALSE(base64_decode("Zm9", out));        // not a multiple of 4
    CHECK_FALSE(base64_decode("Zm9v!A==", out));   // not in the alphabet
    CHECK_FALSE(base64_decode("Zg==Zm9v", out));   // padding before the end
    CHECK_FALSE(base64_decode("Z===", out));       // three padding characters
    CHECK_FALSE(base64_decode("Zm9v\nZm9v", out)); // no line breaks
}

// --- password files ---------------------------------------------------------------------------

TEST_CASE("password file: mosquitto_passwd's $7$ (PBKDF2-SHA512) and $6$ (SHA512) lines verify") {
    const auto db = password_db::parse(std::string(alice_line) + "\n" + bob_line + "\n", "pw");
    CHECK(db.size() == 2);
    CHECK(db.verify("alice", "secret"));
    CHECK_FALSE(db.verify("alice", "Secret"));
    CHECK_FALSE(db.verify("alice", ""));
    CHECK(db.verify("bob", "hunter2"));
    CHECK_FALSE(db.verify("bob", "hunter3"));
    CHECK_FALSE(db.verify("carol", "secret")); // unknown user
    CHECK_FALSE(db.verify("Alice", "secret")); // user names are case-sensitive

    const auto* alice = db.find("alice");
    REQUIRE(alice);
    CHECK(alice->method == password_hash::kind::pbkdf2_sha512);
    CHECK(alice->iterations == 101);
    CHECK(alice->salt.size() == 12);
    CHECK(alice->hash.size() == 64);
    CHECK(db.find("bob")->method == password_hash::kind::sha512);
}

TEST_CASE("password file: our PBKDF2 is mosquitto_passwd's, byte for byte") {
    const auto db = password_db::parse(alice_line, "pw");
    const auto* alice = db.find("alice");
    REQUIRE(alice);
    const std::string line = std::string(alice_line);
    CHECK("alice:" + make_pbkdf2_hash("secret", alice->salt, 101) == line);
    // Another iteration count gives another hash, which verifies as itself.
    const auto other = password_db::parse("u:" + make_pbkdf2_hash("pw", "saltsaltsalt", 1000), "f");
    CHECK(other.find("u")->iterations == 1000);
    CHECK(other.verify("u", "pw"));
    CHECK_FALSE(other.verify("u", "pW"));
}

TEST_CASE("password file: comments, blank lines, CRLF and a user listed twice") {
    const auto text = std::string("# made by mosquitto_passwd\r\n\r\n   \n") + alice_line + "\r\n" +
                      "alice:" + make_pbkdf2_hash("new", "0123456789ab", 10) + "\n";
    const auto db = password_db::parse(text, "pw");
    CHECK(db.size() == 1);
    CHECK(db.verify("alice", "new")); // the later line wins, as in Mosquitto
    CHECK_FALSE(db.verify("alice", "secret"));
}

TEST_CASE("password file: every bad line is an error naming FILE:LINE") {
    auto parse = [](std::string text) {
        return error_of([&] { password_db::parse(text, "/etc/pw"); });
    };
    CHECK(parse("# ok\nalice\n").starts_with("/etc/pw:2: expected USER:HASH"));
    CHECK(parse(":$6$YWJj$AAAA\n").starts_with("/etc/pw:1: expected USER:HASH"));
    // Plain text (before `mosquitto_passwd -U`) is not accepted: Mosquitto 2.0 refuses it too.
    const auto plain = parse(std::string(alice_line) + "\nbob:hunter2\n");
    CHECK(plain.starts_with("/etc/pw:2: user 'bob': not a mosquitto_passwd hash"));
    CHECK(parse("a:$7$x$YWJj$AAAA").find("bad iteration count 'x'") != std::string::npos);
    CHECK(parse("a:$7$0$YWJj$AAAA").find("bad iteration count '0'") != std::string::npos);
    CHECK(parse("a:$7$-5$YWJj$AAAA").find("bad iteration count") != std::string::npos);
    CHECK(parse("a:$6$$AAAA").find("bad base64 salt") != std::string::npos);
    CHECK(parse("a:$6$YW!j$AAAA").find("bad base64 salt") != std::string::npos);
    CHECK(parse("a:$6$YWJj$AAAA").find("hash is 3 bytes, expected 64") != std::string::npos);
    CHECK(parse("a:$5$YWJj$AAAA").find("not a mosquitto_passwd hash") != std::string::npos);
    CHECK(parse("a:$6$YWJj$AAAA$x").find("not a mosquitto_passwd hash") != std::string::npos);
    CHECK(error_of([] { password_db::load("/nonexistent/pw"); }) ==
          "cannot read password file '/nonexistent/pw'");
}

// --- topic filter relations -------------------------------------------------------------------

TEST_CASE("filter_covers: an ACL filter covers a subscription when it matches all it can") {
    CHECK(filter_covers("sensors/#", "sensors/+/temp"));
    CHECK(filter_covers("sensors/#", "sensors/#"));
    CHECK(filter_covers("sensors/#", "sensors")); // "x/#" matches "x" [MQTT-4.7.1-2]
    CHECK(filter_covers("sensors/+", "sensors/kitchen"));
    CHECK(filter_covers("sensors/+", "sensors/+"));
    CHECK(filter_covers("+/+/temp", "a/+/temp"));
    CHECK(filter_covers("#", "a/b/c"));
    CHECK(filter_covers("#", "#"));
    CHECK(filter_covers("a/b", "a/b"));
    CHECK(filter_covers("a//b", "a//b")); // empty levels are levels

    CHECK_FALSE(filter_covers("sensors/+", "sensors/#"));
    CHECK_FALSE(filter_covers("sensors/+", "sensors"));
    CHECK_FALSE(filter_covers("sensors/+", "sensors/a/b"));
    CHECK_FALSE(filter_covers("sensors/kitchen", "sensors/+"));
    CHECK_FALSE(filter_covers("sensors/+/temp", "sensors/#"));
    CHECK_FALSE(filter_covers("a/b", "a/b/c"));
    CHECK_FALSE(filter_covers("a/b/c", "a/b"));
    CHECK_FALSE(filter_covers("a/b", "a/c"));
    CHECK_FALSE(filter_covers("a/#", "b/#"));
}

TEST_CASE("filter_covers: wildcards at the start do not cover $-topics [MQTT-4.7.2-1]") {
    CHECK_FALSE(filter_covers("#", "$SYS/#"));
    CHECK_FALSE(filter_covers("+/broker/load", "$SYS/broker/load"));
    CHECK(filter_covers("$SYS/#", "$SYS/broker/+"));
    CHECK_FALSE(filter_covers("$SYS/#", "#"));
    CHECK(filter_covers("#", "+/monitor")); // "+/monitor" matches no $-topic either
}

TEST_CASE("filters_overlap: some topic matches both filters") {
    CHECK(filters_overlap("sensors/#", "sensors/secret"));
    CHECK(filters_overlap("sensors/secret", "sensors/#"));
    CHECK(filters_overlap("sensors/+/temp", "sensors/secret/#"));
    CHECK(filters_overlap("a/+", "+/b"));
    CHECK(filters_overlap("a/#", "a"));
    CHECK(filters_overlap("#", "x/y/z"));
    CHECK(filters_overlap("a/b", "a/b"));
    CHECK_FALSE(filters_overlap("a/b", "a/c"));
    CHECK_FALSE(filters_overlap("a/+", "a/b/c"));
    CHECK_FALSE(filters_overlap("a/+/c", "a/b/d"));
    CHECK_FALSE(filters_overlap("a", "a/b"));
    CHECK_FALSE(filters_overlap("#", "$SYS/x"));
    CHECK_FALSE(filters_overlap("+/x", "$SYS/x"));
    CHECK(filters_overlap("$SYS/#", "$SYS/x"));
}

// --- ACL files --------------------------------------------------------------------------------

TEST_CASE("ACL file: lines before the first user are the anonymous clients'") {
    const auto db = acl_db::parse("# anonymous\n"
                                  "topic read public/#\n"
                                  "\n"
                                  "user alice\n"
                                  "topic readwrite alice/#\n",
                                  "acl");
    CHECK(db.rule_count() == 2);
    CHECK(sub(db, std::nullopt, "c", "public/news"));
    CHECK_FALSE(pub(db, std::nullopt, "c", "public/news")); // read only
    CHECK_FALSE(sub(db, std::nullopt, "c", "alice/x"));
    CHECK(sub(db, "alice", "c", "alice/x"));
    CHECK(pub(db, "alice", "c", "alice/x"));
    CHECK_FALSE(sub(db, "alice", "c", "public/news")); // alice's own lines only
    CHECK_FALSE(sub(db, "bob", "c", "public/news"));   // a user with no lines: nothing
    CHECK_FALSE(pub(db, "bob", "c", "alice/x"));
}

TEST_CASE("ACL file: read, write, readwrite and the default access") {
    const auto db = acl_db::parse("user u\n"
                                  "topic read r/#\n"
                                  "topic write w/#\n"
                                  "topic readwrite rw/#\n"
                                  "topic plain/#\n",
                                  "acl");
    CHECK(sub(db, "u", "c", "r/1"));
    CHECK_FALSE(pub(db, "u", "c", "r/1"));
    CHECK_FALSE(sub(db, "u", "c", "w/1"));
    CHECK(pub(db, "u", "c", "w/1"));
    CHECK(sub(db, "u", "c", "rw/1"));
    CHECK(pub(db, "u", "c", "rw/1"));
    CHECK(sub(db, "u", "c", "plain/1")); // no access word: readwrite
    CHECK(pub(db, "u", "c", "plain/1"));
}

TEST_CASE("ACL file: subscriptions need a covering read entry") {
    const auto db = acl_db::parse("user u\ntopic read sensors/#\ntopic read rooms/+\n", "acl");
    CHECK(sub(db, "u", "c", "sensors/+/temp"));
    CHECK(sub(db, "u", "c", "sensors/#"));
    CHECK(sub(db, "u", "c", "sensors"));
    CHECK(sub(db, "u", "c", "rooms/kitchen"));
    CHECK(sub(db, "u", "c", "rooms/+"));
    CHECK_FALSE(sub(db, "u", "c", "rooms/#")); // could receive rooms/a/b
    CHECK_FALSE(sub(db, "u", "c", "#"));
    CHECK_FALSE(sub(db, "u", "c", "+/kitchen"));
}

TEST_CASE("ACL file: deny entries win over any grant") {
    const auto db = acl_db::parse("user u\n"
                                  "topic readwrite sensors/#\n"
                                  "topic deny sensors/secret/#\n",
                                  "acl");
    CHECK(sub(db, "u", "c", "sensors/public"));
    CHECK(sub(db, "u", "c", "sensors/public/+"));
    CHECK_FALSE(sub(db, "u", "c", "sensors/+/public")); // could receive sensors/secret/public
    CHECK_FALSE(sub(db, "u", "c", "sensors/secret"));
    CHECK_FALSE(sub(db, "u", "c", "sensors/secret/x"));
    CHECK_FALSE(sub(db, "u", "c", "sensors/#")); // could receive sensors/secret
    CHECK_FALSE(sub(db, "u", "c", "sensors/+")); // could receive sensors/secret
    CHECK(pub(db, "u", "c", "sensors/public"));
    CHECK_FALSE(pub(db, "u", "c", "sensors/secret"));
    CHECK_FALSE(pub(db, "u", "c", "sensors/secret/deep"));
}

TEST_CASE("ACL file: $SYS needs an entry of its own") {
    const auto db = acl_db::parse("topic read #\ntopic read $SYS/broker/#\n", "acl");
    CHECK(sub(db, std::nullopt, "c", "a/b"));
    CHECK(sub(db, std::nullopt, "c", "$SYS/broker/uptime"));
    CHECK_FALSE(sub(db, std::nullopt, "c", "$SYS/#"));
    CHECK_FALSE(sub(db, std::nullopt, "c", "$other/x"));
}

TEST_CASE("ACL file: a shared subscription is checked as its filter") {
    const auto db = acl_db::parse("user u\ntopic read jobs/#\n", "acl");
    CHECK(sub(db, "u", "c", "$share/workers/jobs/+"));
    CHECK_FALSE(sub(db, "u", "c", "$share/workers/other/+"));
}

TEST_CASE("ACL file: patterns fill in %c and %u, for every client") {
    const auto db = acl_db::parse("pattern readwrite clients/%c/#\n"
                                  "user alice\n"
                                  "topic read x\n"
                                  "pattern read users/%u/inbox\n"
                                  "pattern write lit%c/x\n",
                                  "acl");
    CHECK(pub(db, "alice", "dev1", "clients/dev1/state"));
    CHECK(sub(db, "alice", "dev1", "clients/dev1/#"));
    CHECK_FALSE(pub(db, "alice", "dev1", "clients/dev2/state"));
    CHECK_FALSE(sub(db, "alice", "dev1", "clients/+/state"));
    CHECK(pub(db, std::nullopt, "dev9", "clients/dev9/state")); // patterns apply to anonymous
    CHECK(pub(db, "bob", "dev3", "clients/dev3/a"));            // and to users without lines
    CHECK(sub(db, "alice", "c", "users/alice/inbox"));
    CHECK(sub(db, "bob", "c", "users/bob/inbox"));
    CHECK_FALSE(sub(db, "bob", "c", "users/alice/inbox"));
    // %c only counts as a whole level; elsewhere it is literal text.
    CHECK(pub(db, "u", "dev1", "lit%c/x"));
    CHECK_FALSE(pub(db, "u", "dev1", "litdev1/x"));
}

TEST_CASE("ACL file: %u patterns skip anonymous clients; odd ids fill in nothing") {
    const auto db = acl_db::parse("pattern readwrite users/%u/#\n"
                                  "pattern readwrite devices/%c\n",
                                  "acl");
    CHECK_FALSE(sub(db, std::nullopt, "c", "users/%u/x"));
    CHECK_FALSE(sub(db, std::nullopt, "c", "users/+/x"));
    // A client id holding a wildcard or a '/' must not widen what it may do.
    CHECK_FALSE(sub(db, std::nullopt, "+", "devices/+"));
    CHECK_FALSE(sub(db, std::nullopt, "#", "devices/#"));
    CHECK_FALSE(pub(db, std::nullopt, "a/b", "devices/a/b"));
    CHECK_FALSE(pub(db, "", "c", "users//x")); // an empty user name fills in nothing
}

TEST_CASE("ACL file: a deny pattern with an odd id applies to every value (fails closed)") {
    const auto db = acl_db::parse("topic readwrite data/#\n"
                                  "pattern deny data/%c/private\n",
                                  "acl");
    CHECK(pub(db, std::nullopt, "dev1", "data/dev2/private"));
    CHECK_FALSE(pub(db, std::nullopt, "dev1", "data/dev1/private"));
    CHECK_FALSE(pub(db, std::nullopt, "x/y", "data/dev2/private"));
    CHECK_FALSE(sub(db, std::nullopt, "dev1", "data/#")); // could receive data/dev1/private
    CHECK(sub(db, std::nullopt, "dev1", "data/+/public"));
}

TEST_CASE("ACL file: several blocks of one user add up") {
    const auto db = acl_db::parse("user u\ntopic read a\nuser v\ntopic read b\nuser u\n"
                                  "topic read c\n",
                                  "acl");
    CHECK(sub(db, "u", "id", "a"));
    CHECK(sub(db, "u", "id", "c"));
    CHECK_FALSE(sub(db, "u", "id", "b"));
    CHECK(sub(db, "v", "id", "b"));
}

TEST_CASE("ACL file: Mosquitto's parsing of the access word, spaces and user names") {
    const auto db = acl_db::parse("user John Smith\n"
                                  "topic read\n"             // one word: the topic "read"
                                  "topic write room 101/+\n" // spaces in topics
                                  "\t topic   deny   x \n",  // extra blanks
                                  "acl");
    CHECK(sub(db, "John Smith", "c", "read"));
    CHECK(pub(db, "John Smith", "c", "read"));
    CHECK(pub(db, "John Smith", "c", "room 101/a"));
    CHECK_FALSE(sub(db, "John Smith", "c", "room 101/a"));
    CHECK_FALSE(pub(db, "John Smith", "c", "x"));
}

TEST_CASE("ACL file: every bad line is an error naming FILE:LINE") {
    auto parse = [](std::string text) {
        return error_of([&] { acl_db::parse(text, "/etc/acl"); });
    };
    CHECK(parse("topic read a\nuser\n") == "/etc/acl:2: `user` without a user name");
    CHECK(parse("topic\n") == "/etc/acl:1: `topic` without a topic");
    CHECK(parse("pattern   \n") == "/etc/acl:1: `pattern` without a topic");
    CHECK(parse("topic reed a/b\n") ==
          "/etc/acl:1: unknown access 'reed' (read, write, readwrite or deny)");
    CHECK(parse("topic read a/#/b\n") == "/etc/acl:1: 'a/#/b' is not a valid topic filter");
    CHECK(parse("topic read a/b+\n") == "/etc/acl:1: 'a/b+' is not a valid topic filter");
    CHECK(parse("\n\nuser u\ntopics read a\n") ==
          "/etc/acl:4: expected `user`, `topic` or `pattern`, got 'topics'");
    CHECK(error_of([] { acl_db::load("/nonexistent/acl"); }) ==
          "cannot read ACL file '/nonexistent/acl'");
    CHECK(parse("# only comments\n\n   # indented\n").empty());
}

TEST_CASE("ACL file: a topic name that is not valid may not be published") {
    const auto db = acl_db::parse("topic readwrite #\n", "acl");
    CHECK(pub(db, std::nullopt, "c", "a/b"));
    CHECK_FALSE(pub(db, std::nullopt, "c", "")); // e.g. a 5.0 topic alias
}

// --- plugin names -----------------------------------------------------------------------------

TEST_CASE("plugin loader: the default name is the file's, without lib and .so") {
    CHECK(default_plugin_name("/usr/lib/coromq/libmy_auth.so") == "my_auth");
    CHECK(default_plugin_name("libx.so.1.2") == "x");
    CHECK(default_plugin_name("plugins/audit.so") == "audit");
    CHECK(default_plugin_name("library") == "library");
    CHECK(default_plugin_name("lib.so") == "lib");
}

TEST_SUITE_END();
