// Intrusive atomic reference counting for the immutable nodes of the value tree.
// Nodes are shared between snapshots and threads, so the count is atomic; a node is never mutated
// after it has been published (only freshly allocated, unshared nodes are written).
#pragma once

#include <atomic>
#include <cstdint>
#include <utility>

#include "theus/value.hpp"
#include "value/node_pool.hpp"

namespace theus::detail {

// Base of every node: the public RcHeader (retain / release) plus helpers for the internals.
// Nodes made with `new` come from the node pool; variable-size nodes call node_alloc themselves
// and are constructed with placement new.
struct RcBase : RcHeader {
  bool unique() const noexcept { return rc.load(std::memory_order_acquire) == 1; }

  static void* operator new(size_t bytes) { return node_alloc(bytes); }
  static void* operator new(size_t, void* at) noexcept { return at; }
  static void operator delete(void* p, size_t bytes) noexcept { node_free(p, bytes); }
  static void operator delete(void*, void*) noexcept {}
};

// Owning pointer to a node type T that provides `static void destroy(T*)`.
template <class T>
class Rc {
 public:
  Rc() noexcept = default;
  // Adopts a reference the caller already owns (a freshly created node has rc == 1).
  static Rc adopt(T* p) noexcept {
    Rc r;
    r.p_ = p;
    return r;
  }
  // Shares a node: takes a new reference.
  static Rc share(T* p) noexcept {
    if (p) p->retain();
    return adopt(p);
  }
  Rc(const Rc& o) noexcept : p_(o.p_) {
    if (p_) p_->retain();
  }
  Rc(Rc&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  Rc& operator=(const Rc& o) noexcept {
    if (o.p_) o.p_->retain();
    reset_to(o.p_);
    return *this;
  }
  Rc& operator=(Rc&& o) noexcept {
    if (this != &o) reset_to(std::exchange(o.p_, nullptr));
    return *this;
  }
  ~Rc() { reset_to(nullptr); }

  T* get() const noexcept { return p_; }
  T* operator->() const noexcept { return p_; }
  T& operator*() const noexcept { return *p_; }
  explicit operator bool() const noexcept { return p_ != nullptr; }
  T* release_ownership() noexcept { return std::exchange(p_, nullptr); }
  friend bool operator==(const Rc& a, const Rc& b) noexcept { return a.p_ == b.p_; }

 private:
  void reset_to(T* p) noexcept {
    T* old = std::exchange(p_, p);
    if (old && old->release()) T::destroy(old);
  }
  T* p_ = nullptr;
};

}  // namespace theus::detail
