// Value: one node of the immutable state tree (null, bool, int64, double, string, bytes, list, map,
// buffer reference, opaque foreign handle). Lists and maps are persistent: "modifying" operations
// are const and return a new value that shares every untouched node with the old one.
// A Value is 16 bytes; strings and bytes of up to 14 bytes are stored in it, longer ones in a
// shared heap node. as_string()/as_bytes() views into a short string therefore live as long as
// that Value object (not its copies): keep the Value, not only the view.
// Thread-safety: a Value is immutable; copies share nodes with atomic reference counts, so values
// may be read from any number of threads. A single Value object must not be assigned concurrently.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace theus {

namespace detail {
struct StrNode;
struct ListRoot;
struct MapRoot;
struct BufferNode;
struct ForeignNode;

// The reference count every heap node behind a Value starts with. Visible here so copying and
// destroying a Value stay inline (copies are the hottest operation of the value tree).
struct RcHeader {
  mutable std::atomic<uint32_t> rc{1};

  void retain() const noexcept { rc.fetch_add(1, std::memory_order_relaxed); }
  // True when the caller dropped the last reference and must destroy the node. A sole owner
  // skips the atomic read-modify-write: nobody else can be copying a node they do not hold.
  bool release() const noexcept {
    if (rc.load(std::memory_order_acquire) == 1) return true;
    return rc.fetch_sub(1, std::memory_order_acq_rel) == 1;
  }
};
inline const RcHeader* rc_header(const void* node) noexcept {
  return static_cast<const RcHeader*>(node);
}
void destroy_list_root(ListRoot* root) noexcept;
void destroy_map_root(MapRoot* root) noexcept;
}  // namespace detail

class Value;

enum class Kind : unsigned char {
  kNull,
  kBool,
  kInt,
  kDouble,
  kString,
  kBytes,
  kList,
  kMap,
  kBuffer,   // heavy-zone array living in shared memory
  kForeign,  // an embedder object the core cannot look into
};

// Reference to an array in a shared-memory segment (the heavy zone stores these by reference).
struct BufferRef {
  std::string name;            // segment name, e.g. "theus_ab12cd34_4242_frames"
  uint64_t offset = 0;         // byte offset of the first element inside the segment
  uint64_t length = 0;         // byte length of the array
  std::string dtype;           // numpy dtype string, e.g. "float64"
  std::vector<int64_t> shape;  // element counts per dimension
  friend bool operator==(const BufferRef&, const BufferRef&) = default;
};

// Hooks an embedder supplies for its foreign objects. `release` drops the embedder's reference and
// is called once, when the last Value holding the object goes away (possibly on another thread).
// `equals`, `hash` and `repr` may be null: identity, pointer hash and "<TYPE object>" are used.
struct ForeignHooks {
  const char* type_name = "object";
  void (*release)(void* object) = nullptr;
  bool (*equals)(void* a, void* b) = nullptr;
  size_t (*hash)(void* object) = nullptr;
  std::string (*repr)(void* object) = nullptr;
  // Attribute navigation for opaque objects (paths through a foreign value). `get_attribute`
  // returns false when the attribute is missing; `with_attribute` builds a modified copy.
  bool (*get_attribute)(void* object, const Value& name, Value* out) = nullptr;
  bool (*with_attribute)(void* object, const Value& name, const Value& value, Value* out) = nullptr;
  // Truth value (Value::truthy); null: always true.
  bool (*truthy)(void* object) = nullptr;
  // Rich comparison `object <op> other` for the condition language, with `op` one of
  // ForeignCompareOp. Returns false when the comparison is unsupported or fails, with the
  // embedder's message in `*error`; null: only equality (through `equals`) is defined.
  bool (*compare)(void* object, const Value& other, int op, bool* result,
                  std::string* error) = nullptr;
};

// The `op` argument of ForeignHooks::compare (the order of CPython's Py_LT ... Py_GE).
enum ForeignCompareOp : int {
  kForeignLt,
  kForeignLe,
  kForeignEq,
  kForeignNe,
  kForeignGt,
  kForeignGe
};

// Persistent list. get/set/push_back/pop_back: O(log32 n); insert/erase in the middle: O(n).
class List {
 public:
  class Iterator;

  List() noexcept = default;
  List(std::initializer_list<Value> items);
  static List from_vector(std::vector<Value> items);  // O(n)
  List(const List& other) noexcept : root_(other.root_) {
    if (root_) detail::rc_header(root_)->retain();
  }
  List(List&& other) noexcept : root_(other.root_) { other.root_ = nullptr; }
  List& operator=(const List& other) noexcept {
    List copy(other);
    std::swap(root_, copy.root_);
    return *this;
  }
  List& operator=(List&& other) noexcept {
    std::swap(root_, other.root_);
    return *this;
  }
  ~List() {
    if (root_ && detail::rc_header(root_)->release()) detail::destroy_list_root(root_);
  }

  size_t size() const noexcept;
  bool empty() const noexcept { return size() == 0; }
  const Value& operator[](size_t i) const noexcept;  // precondition: i < size()
  const Value* get(size_t i) const noexcept;         // nullptr when out of range

  [[nodiscard]] List push_back(Value value) const;
  [[nodiscard]] List set(size_t i, Value value) const;     // precondition: i < size()
  [[nodiscard]] List insert(size_t i, Value value) const;  // precondition: i <= size()
  [[nodiscard]] List erase(size_t i) const;                // precondition: i < size()
  [[nodiscard]] List pop_back() const;                     // precondition: !empty()

  std::vector<Value> to_vector() const;
  Iterator begin() const noexcept;
  Iterator end() const noexcept;

  // Same underlying nodes (O(1) identity test; equal lists may still be different nodes).
  bool same_as(const List& other) const noexcept;
  friend bool operator==(const List& a, const List& b);

 private:
  friend class Value;
  explicit List(detail::ListRoot* root) noexcept : root_(root) {}
  detail::ListRoot* root_ = nullptr;  // nullptr == empty
};

// Persistent map that keeps insertion order (as Python's dict does). Keys are Values compared with
// Python equality (1 == 1.0 == True). find/set/erase: O(log32 n); iteration: insertion order.
// Setting an existing key keeps its position; erasing and re-adding moves it to the end.
class Map {
 public:
  class Iterator;
  struct Item {
    const Value& key;
    const Value& value;
  };

  Map() noexcept = default;
  Map(std::initializer_list<std::pair<Value, Value>> items);
  Map(const Map& other) noexcept : root_(other.root_) {
    if (root_) detail::rc_header(root_)->retain();
  }
  Map(Map&& other) noexcept : root_(other.root_) { other.root_ = nullptr; }
  Map& operator=(const Map& other) noexcept {
    Map copy(other);
    std::swap(root_, copy.root_);
    return *this;
  }
  Map& operator=(Map&& other) noexcept {
    std::swap(root_, other.root_);
    return *this;
  }
  ~Map() {
    if (root_ && detail::rc_header(root_)->release()) detail::destroy_map_root(root_);
  }

  size_t size() const noexcept;
  bool empty() const noexcept { return size() == 0; }
  const Value* find(const Value& key) const noexcept;  // nullptr when absent
  const Value* find(std::string_view key) const noexcept;
  const Value* find(const char* key) const noexcept { return find(std::string_view(key)); }
  bool contains(const Value& key) const noexcept { return find(key) != nullptr; }

  // One lookup for read-modify-write: `lookup` finds a key, `replace` stores a new value at what it
  // found (on this same map) without searching again.
  struct Found {
    long slot = -1;
    const Value* value = nullptr;  // nullptr when the key is absent
  };
  Found lookup(const Value& key) const noexcept;
  [[nodiscard]] Map replace(const Found& at, Value value) const;  // precondition: at.value

  // Copy-on-write access for a sole owner (a Map object no other thread can reach, itself reached
  // through containers the caller owns): the stored value of `key`, writable in place, or nullptr
  // when absent. This map's root and the nodes on the way to the slot are copied when shared and
  // reused when not, so every other map that shares nodes with this one is unaffected.
  Value* mutable_find(const Value& key);

  // Builds a map from items in O(n) (a repeated key keeps its first position, last value wins).
  static Map from_items(std::vector<std::pair<Value, Value>> items);

  [[nodiscard]] Map set(Value key, Value value) const;
  [[nodiscard]] Map erase(const Value& key) const;  // absent key: returns an equal map

  std::vector<Value> keys() const;
  Iterator begin() const noexcept;
  Iterator end() const noexcept;

  bool same_as(const Map& other) const noexcept;
  // Python dict equality: same keys, equal values, order ignored.
  friend bool operator==(const Map& a, const Map& b);

 private:
  friend class Value;
  explicit Map(detail::MapRoot* root) noexcept : root_(root) {}
  detail::MapRoot* root_ = nullptr;  // nullptr == empty
};

class Value {
 public:
  Value() noexcept : kind_(Kind::kNull), i_(0) {}
  Value(std::nullptr_t) noexcept : Value() {}                    // NOLINT: implicit by design
  Value(bool b) noexcept : kind_(Kind::kBool), i_(b ? 1 : 0) {}  // NOLINT
  Value(int v) noexcept : kind_(Kind::kInt), i_(v) {}            // NOLINT
  Value(long v) noexcept : kind_(Kind::kInt), i_(v) {}           // NOLINT
  Value(long long v) noexcept : kind_(Kind::kInt), i_(v) {}      // NOLINT
  Value(unsigned v) noexcept : kind_(Kind::kInt), i_(v) {}       // NOLINT
  Value(unsigned long v) noexcept : kind_(Kind::kInt), i_(static_cast<int64_t>(v)) {}  // NOLINT
  Value(unsigned long long v) noexcept
      : kind_(Kind::kInt), i_(static_cast<int64_t>(v)) {}      // NOLINT
  Value(double d) noexcept : kind_(Kind::kDouble), d_(d) {}    // NOLINT
  Value(const char* s);                                        // NOLINT
  Value(std::string_view s);                                   // NOLINT
  Value(const std::string& s) : Value(std::string_view(s)) {}  // NOLINT
  Value(List list) noexcept;                                   // NOLINT
  Value(Map map) noexcept;                                     // NOLINT
  template <class T>
  Value(const T*) = delete;  // no accidental pointer -> bool conversion

  static Value bytes(std::string_view data);
  static Value buffer(BufferRef ref);
  // Takes over one reference to `object`; `hooks` must outlive every Value made from it.
  static Value foreign(void* object, const ForeignHooks* hooks);

  Value(const Value& o) noexcept {
    copy_head(o);
    copy_payload(o);
  }
  Value(Value&& o) noexcept {
    copy_head(o);
    move_payload(o);
  }
  Value& operator=(const Value& o) noexcept {
    if (this != &o) {
      Value copy(o);
      *this = std::move(copy);
    }
    return *this;
  }
  Value& operator=(Value&& o) noexcept {
    if (this != &o) {
      release();
      copy_head(o);
      move_payload(o);
    }
    return *this;
  }
  ~Value() { release(); }

  Kind kind() const noexcept { return kind_; }
  bool is_null() const noexcept { return kind_ == Kind::kNull; }
  bool is_bool() const noexcept { return kind_ == Kind::kBool; }
  bool is_int() const noexcept { return kind_ == Kind::kInt; }
  bool is_double() const noexcept { return kind_ == Kind::kDouble; }
  bool is_number() const noexcept {
    return kind_ == Kind::kInt || kind_ == Kind::kDouble || kind_ == Kind::kBool;
  }
  bool is_string() const noexcept { return kind_ == Kind::kString; }
  bool is_bytes() const noexcept { return kind_ == Kind::kBytes; }
  bool is_list() const noexcept { return kind_ == Kind::kList; }
  bool is_map() const noexcept { return kind_ == Kind::kMap; }
  bool is_buffer() const noexcept { return kind_ == Kind::kBuffer; }
  bool is_foreign() const noexcept { return kind_ == Kind::kForeign; }
  bool is_container() const noexcept { return kind_ == Kind::kList || kind_ == Kind::kMap; }

  // Accessors; the kind must match (checked by assert).
  bool as_bool() const noexcept;
  int64_t as_int() const noexcept;
  double as_double() const noexcept;
  double as_number() const noexcept;  // bool, int or double promoted to double
  std::string_view as_string() const noexcept;
  std::string_view as_bytes() const noexcept;
  const List& as_list() const noexcept;
  const Map& as_map() const noexcept;
  // The map inside this value, writable (precondition: is_map()); see Map::mutable_find.
  Map& mutable_map() noexcept;
  const BufferRef& as_buffer() const noexcept;
  void* foreign_object() const noexcept;
  const ForeignHooks* foreign_hooks() const noexcept;

  // Python truthiness: None, False, 0, 0.0, "", b"", [], {} are false.
  bool truthy() const noexcept;
  // Python-style type name used in messages: "NoneType", "int", "str", "dict", "list", ...
  std::string_view type_name() const noexcept;
  // Deterministic Python-like rendering: {'a': 1, 'b': [2.5, None, True]}.
  std::string repr() const;
  // Python str(): strings as they are, everything else as repr().
  std::string str() const;
  // Hash consistent with ==: 1, 1.0 and True hash alike.
  size_t hash() const noexcept;
  // Value(text).hash(), without building the Value (lookups by std::string_view).
  static size_t hash_of_text(std::string_view text) noexcept;
  // Same kind and same payload/node (or the same inline string): O(1); implies ==.
  bool identical(const Value& o) const noexcept;
  // Address of the heap node behind a string/bytes/container/buffer/foreign value (nullptr for
  // scalars, empty containers and strings short enough to live inline): an identity token, never
  // dereferenced by callers.
  const void* node_id() const noexcept;

  friend bool operator==(const Value& a, const Value& b);
  friend bool operator!=(const Value& a, const Value& b) { return !(a == b); }

  // Internal: tombstone marker for deleted map slots (never visible through the public API).
  static Value tombstone() noexcept {
    Value v;
    v.flags_ = kTombstoneFlag;
    return v;
  }
  bool is_tombstone() const noexcept { return flags_ == kTombstoneFlag; }

 private:
  // flags_: bit 0 marks the tombstone (kind null); bit 1 marks a string/bytes value stored inline,
  // whose length is in bits 4..7.
  static constexpr unsigned char kTombstoneFlag = 1;
  static constexpr unsigned char kInlineFlag = 2;
  static constexpr unsigned kInlineLenShift = 4;

  // Short strings and bytes (up to kInlineCapacity bytes, the most common map keys) live in the
  // Value itself: in the six bytes after kind_/flags_ and the eight of the payload, zero-filled
  // past their length. No allocation, no pointer to follow when comparing keys, and equality of
  // two inline strings is a comparison of the Value's two words. Every string that fits is stored
  // inline, so an inline and a heap string are never equal.
  static constexpr size_t kInlineCapacity = 14;
  static constexpr size_t kInlineOffset = 2;  // offsetof(Value, inline_a_)
  bool is_inline() const noexcept { return (flags_ & kInlineFlag) != 0; }
  size_t inline_size() const noexcept { return flags_ >> kInlineLenShift; }
  const char* inline_data() const noexcept {
    return reinterpret_cast<const char*>(this) + kInlineOffset;
  }
  static size_t inline_text_hash(const char* data, size_t len) noexcept;
  // The head words are stored by plain assignments, not memcpy into *this: GCC 12 at -O3 reports
  // memcpy into an object on paths inside std::vector's reallocation that never occur.
  void set_inline(Kind kind, std::string_view s) noexcept {
    kind_ = kind;
    flags_ = static_cast<unsigned char>(kInlineFlag | (s.size() << kInlineLenShift));
    char text[kInlineCapacity] = {};
    if (!s.empty()) std::memcpy(text, s.data(), s.size());
    uint16_t a = 0;
    uint32_t b = 0;
    int64_t c = 0;
    std::memcpy(&a, text, sizeof a);
    std::memcpy(&b, text + sizeof a, sizeof b);
    std::memcpy(&c, text + sizeof a + sizeof b, sizeof c);
    inline_a_ = a;
    inline_b_ = b;
    i_ = c;
  }
  // kind_, flags_ and the inline head (compiled to one 8-byte copy).
  void copy_head(const Value& o) noexcept {
    kind_ = o.kind_;
    flags_ = o.flags_;
    inline_a_ = o.inline_a_;
    inline_b_ = o.inline_b_;
  }
  // The heap node of string/bytes/list/map/buffer/foreign values (nullptr otherwise).
  const void* heap_node() const noexcept {
    switch (kind_) {
      case Kind::kString:
      case Kind::kBytes:
        return is_inline() ? nullptr : str_;
      case Kind::kList:
        return list_.root_;
      case Kind::kMap:
        return map_.root_;
      case Kind::kBuffer:
        return buf_;
      case Kind::kForeign:
        return foreign_;
      default:
        return nullptr;
    }
  }
  void copy_payload(const Value& o) noexcept {
    switch (kind_) {
      case Kind::kList:
        new (&list_) List(o.list_);
        return;
      case Kind::kMap:
        new (&map_) Map(o.map_);
        return;
      default:
        i_ = o.i_;  // a scalar, or a node pointer whose count is raised below
        if (const void* n = heap_node()) detail::rc_header(n)->retain();
    }
  }
  void move_payload(Value& o) noexcept {
    switch (kind_) {
      case Kind::kList:
        new (&list_) List(std::move(o.list_));
        break;
      case Kind::kMap:
        new (&map_) Map(std::move(o.map_));
        break;
      default:
        i_ = o.i_;  // the reference moves with the pointer
    }
    o.kind_ = Kind::kNull;
    o.flags_ = 0;
    o.i_ = 0;
  }
  void release() noexcept {
    const void* n = heap_node();
    if (n && detail::rc_header(n)->release()) destroy_node();
    kind_ = Kind::kNull;
    i_ = 0;
  }
  void destroy_node() noexcept;  // the last reference is gone: free the node

  Kind kind_;
  unsigned char flags_ = 0;
  // The first 6 bytes of an inline string (the other 8 are the payload's).
  uint16_t inline_a_ = 0;
  uint32_t inline_b_ = 0;
  union {
    int64_t i_;
    double d_;
    detail::StrNode* str_;
    List list_;
    Map map_;
    detail::BufferNode* buf_;
    detail::ForeignNode* foreign_;
  };
};

class List::Iterator {
 public:
  using value_type = Value;
  using difference_type = std::ptrdiff_t;
  using reference = const Value&;
  using pointer = const Value*;
  using iterator_category = std::forward_iterator_tag;

  Iterator() = default;
  const Value& operator*() const noexcept { return chunk_[i_ - base_]; }
  const Value* operator->() const noexcept { return &chunk_[i_ - base_]; }
  Iterator& operator++() noexcept;
  Iterator operator++(int) noexcept {
    Iterator t = *this;
    ++*this;
    return t;
  }
  friend bool operator==(const Iterator& a, const Iterator& b) noexcept { return a.i_ == b.i_; }

 private:
  friend class List;
  Iterator(const List* list, size_t i) noexcept;
  const List* list_ = nullptr;
  size_t i_ = 0;
  size_t base_ = 0;  // index of chunk_[0]
  size_t chunk_len_ = 0;
  const Value* chunk_ = nullptr;
};

class Map::Iterator {
 public:
  using value_type = Item;
  using difference_type = std::ptrdiff_t;
  using iterator_category = std::forward_iterator_tag;

  Iterator() = default;
  Item operator*() const noexcept;
  Iterator& operator++() noexcept;
  friend bool operator==(const Iterator& a, const Iterator& b) noexcept { return a.i_ == b.i_; }

 private:
  friend class Map;
  Iterator(const Map* map, size_t i) noexcept;
  void settle() noexcept;  // skip tombstones
  const Map* map_ = nullptr;
  size_t i_ = 0;
  size_t base_ = 0;
  size_t chunk_len_ = 0;
  const void* chunk_ = nullptr;  // const detail::MapEntry*
  size_t end_ = 0;
};

}  // namespace theus

template <>
struct std::hash<theus::Value> {
  size_t operator()(const theus::Value& v) const noexcept { return v.hash(); }
};
