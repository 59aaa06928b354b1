// Two tries over topic levels, so that neither routing a PUBLISH nor answering a wildcard
// SUBSCRIBE with retained messages has to look at every subscription or retained message.
//
//   subscriptions: filters split at '/'      retained: names split at '/'
//        (root)                                  (root)
//        /  |   \                                /     \ .
//    sport  +    #  <- "#": all below         sport    $SYS
//     |     |                                   |        |
//  tennis  score <- "+/score"                 tennis   broker   <- a message at each leaf
//     |                                         |
//     #   <- "sport/tennis/#"                 player1
//
// Not thread-safe: both live on the router's strand.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace coromq::broker {

namespace detail {
/// Calls f(level, is_last) for each level of `topic` ("a//b" -> "a", "", "b").
template <class F>
void for_each_level(std::string_view topic, F&& f) {
    std::size_t start = 0;
    for (;;) {
        const auto slash = topic.find('/', start);
        if (slash == std::string_view::npos) {
            f(topic.substr(start), true);
            return;
        }
        f(topic.substr(start, slash - start), false);
        start = slash + 1;
    }
}

/// Hashes std::string and std::string_view alike, so that a level is looked up without
/// building a string.
struct level_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
        return std::hash<std::string_view>{}(s);
    }
};
} // namespace detail

/// Subscriptions by filter. `Entry` is what a subscription carries; `Key` identifies the
/// subscriber (one entry per subscriber per filter).
template <class Key, class Entry>
class subscription_trie {
public:
    /// Adds or replaces `key`'s subscription to `filter`. Returns true when it is new.
    bool insert(std::string_view filter, Key key, Entry entry) {
        node* n = &root_;
        detail::for_each_level(
            filter, [&](std::string_view level, bool) { n = &child_or_make(*n, level); });
        for (auto& s : n->subscribers) {
            if (s.first == key) {
                s.second = std::move(entry);
                return false;
            }
        }
        n->subscribers.emplace_back(key, std::move(entry));
        ++size_;
        return true;
    }

    /// Removes `key`'s subscription to `filter`. Returns true when there was one.
    bool erase(std::string_view filter, Key key) {
        node* n = &root_;
        bool found = true;
        detail::for_each_level(filter, [&](std::string_view level, bool) {
            if (!found) {
                return;
            }
            n = child(*n, level);
            found = n != nullptr;
        });
        if (!found) {
            return false;
        }
        auto& subs = n->subscribers;
        for (auto it = subs.begin(); it != subs.end(); ++it) {
            if (it->first == key) {
                *it = std::move(subs.back());
                subs.pop_back();
                --size_;
                prune(n);
                return true;
            }
        }
        return false;
    }

    /// Calls f(key, entry) for every subscription whose filter matches the topic name `name`.
    /// A subscriber with several matching filters is reported once per filter.
    template <class F>
    void match(std::string_view name, F&& f) const {
        // [MQTT-4.7.2-1] names starting with '$' are not matched by a leading wildcard.
        const bool dollar = !name.empty() && name.front() == '$';
        match_from(root_, name, 0, dollar, f);
    }

    std::size_t size() const noexcept { return size_; }

private:
    /// The wildcard levels have their own slots, so matching a level costs one hashed
    /// lookup of the name (and none when a node has no named children) plus two pointer tests.
    struct node {
        std::unordered_map<std::string, std::unique_ptr<node>, detail::level_hash,
                           std::equal_to<>>
            children;               ///< named levels
        std::unique_ptr<node> plus; ///< "+"
        std::unique_ptr<node> hash; ///< "#"
        std::vector<std::pair<Key, Entry>> subscribers;
        node* parent = nullptr;
        std::string_view level; ///< this node's key in its parent (or "+", "#")
    };

    static node* child(const node& n, std::string_view level) {
        if (level == "+") {
            return n.plus.get();
        }
        if (level == "#") {
            return n.hash.get();
        }
        if (n.children.empty()) {
            return nullptr;
        }
        const auto it = n.children.find(level);
        return it == n.children.end() ? nullptr : it->second.get();
    }

    static node& child_or_make(node& n, std::string_view level) {
        std::unique_ptr<node>* slot = nullptr;
        if (level == "+") {
            slot = &n.plus;
        } else if (level == "#") {
            slot = &n.hash;
        }
        if (slot) {
            if (!*slot) {
                *slot = std::make_unique<node>();
                (*slot)->parent = &n;
                (*slot)->level = level == "+" ? std::string_view("+") : std::string_view("#");
            }
            return **slot;
        }
        auto it = n.children.find(level);
        if (it == n.children.end()) {
            it = n.children.emplace(std::string(level), std::make_unique<node>()).first;
            it->second->parent = &n;
            it->second->level = it->first;
        }
        return *it->second;
    }

    template <class F>
    static void emit(const node& n, F& f) {
        for (const auto& [key, entry] : n.subscribers) {
            f(key, entry);
        }
    }

    /// `pos` is the start of the current level in `name`, or npos past the last level.
    template <class F>
    static void match_from(const node& n, std::string_view name, std::size_t pos, bool dollar,
                           F& f) {
        if (pos == std::string_view::npos) {
            emit(n, f);
            // "sport/#" also matches "sport" [MQTT-4.7.1-2].
            if (n.hash) {
                emit(*n.hash, f);
            }
            return;
        }
        const auto slash = name.find('/', pos);
        const auto level =
            name.substr(pos, slash == std::string_view::npos ? name.npos : slash - pos);
        const auto next = slash == std::string_view::npos ? std::string_view::npos : slash + 1;
        if (!n.children.empty()) {
            if (auto it = n.children.find(level); it != n.children.end()) {
                match_from(*it->second, name, next, dollar, f);
            }
        }
        if (dollar && pos == 0) {
            return;
        }
        if (n.plus) {
            match_from(*n.plus, name, next, dollar, f);
        }
        if (n.hash) {
            emit(*n.hash, f);
        }
    }

    void prune(node* n) {
        while (n != &root_ && n->subscribers.empty() && n->children.empty() && !n->plus &&
               !n->hash) {
            node* parent = n->parent;
            if (n == parent->plus.get()) {
                parent->plus.reset();
            } else if (n == parent->hash.get()) {
                parent->hash.reset();
            } else {
                parent->children.erase(parent->children.find(n->level));
            }
            n = parent;
        }
    }

    node root_;
    std::size_t size_ = 0;
};

/// Retained messages by topic name; a wildcard filter walks only the branches it can match.
template <class Message>
class retained_trie {
public:
    retained_trie() = default;
    retained_trie(const retained_trie&) = delete;
    retained_trie& operator=(const retained_trie&) = delete;
    /// Tears the tree down without recursion (see emit_subtree).
    ~retained_trie() {
        std::vector<std::unique_ptr<node>> pending;
        for (auto& [level, child] : root_.children) {
            pending.push_back(std::move(child));
        }
        while (!pending.empty()) {
            auto current = std::move(pending.back());
            pending.pop_back();
            for (auto& [level, child] : current->children) {
                pending.push_back(std::move(child));
            }
        }
    }

    /// Stores `message` under `name`, or removes what is there when `message` is empty.
    void set(std::string_view name, Message message) {
        if (!message) {
            erase(name);
            return;
        }
        node* n = &root_;
        detail::for_each_level(name, [&](std::string_view level, bool) {
            auto it = n->children.find(level);
            if (it == n->children.end()) {
                it = n->children.emplace(std::string(level), std::make_unique<node>()).first;
                it->second->parent = n;
                it->second->level = it->first;
            }
            n = it->second.get();
        });
        if (!n->message) {
            ++size_;
        }
        n->message = std::move(message);
    }

    /// Calls f(message) for every retained message whose name matches `filter`.
    template <class F>
    void match(std::string_view filter, F&& f) const {
        match_from(root_, filter, 0, f);
    }

    std::size_t size() const noexcept { return size_; }

private:
    struct node {
        std::map<std::string, std::unique_ptr<node>, std::less<>> children;
        Message message{};
        node* parent = nullptr;
        std::string_view level;
    };

    void erase(std::string_view name) {
        node* n = &root_;
        bool found = true;
        detail::for_each_level(name, [&](std::string_view level, bool) {
            if (!found) {
                return;
            }
            auto it = n->children.find(level);
            if (it == n->children.end()) {
                found = false;
                return;
            }
            n = it->second.get();
        });
        if (!found || !n->message) {
            return;
        }
        n->message = Message{};
        --size_;
        while (n != &root_ && !n->message && n->children.empty()) {
            node* parent = n->parent;
            parent->children.erase(parent->children.find(n->level));
            n = parent;
        }
    }

    /// Every message at or below `n`. Iterative: a topic may have thousands of levels, and
    /// a client must not be able to exhaust the stack by publishing one.
    template <class F>
    static void emit_subtree(const node& n, F& f) {
        std::vector<const node*> pending{&n};
        while (!pending.empty()) {
            const node* current = pending.back();
            pending.pop_back();
            if (current->message) {
                f(current->message);
            }
            for (const auto& [level, child] : current->children) {
                pending.push_back(child.get());
            }
        }
    }

    template <class F>
    static void match_from(const node& n, std::string_view filter, std::size_t pos, F& f) {
        if (pos == std::string_view::npos) {
            if (n.message) {
                f(n.message);
            }
            return;
        }
        const bool at_root = pos == 0;
        const auto slash = filter.find('/', pos);
        const auto level =
            filter.substr(pos, slash == std::string_view::npos ? filter.npos : slash - pos);
        const auto next = slash == std::string_view::npos ? std::string_view::npos : slash + 1;
        if (level == "#") {
            // The parent level too: "sport/#" matches "sport". At the root, '$' topics are
            // not matched by a wildcard [MQTT-4.7.2-1].
            if (!at_root && n.message) {
                f(n.message);
            }
            for (const auto& [child_level, child] : n.children) {
                if (at_root && !child_level.empty() && child_level.front() == '$') {
                    continue;
                }
                emit_subtree(*child, f);
            }
            return;
        }
        if (level == "+") {
            for (const auto& [child_level, child] : n.children) {
                if (at_root && !child_level.empty() && child_level.front() == '$') {
                    continue;
                }
                match_from(*child, filter, next, f);
            }
            return;
        }
        if (auto it = n.children.find(level); it != n.children.end()) {
            match_from(*it->second, filter, next, f);
        }
    }

    node root_;
    std::size_t size_ = 0;
};

} // namespace coromq::broker
