// List: a handle on a reference-counted persistent vector of Values.
#include <cassert>

#include "theus/value.hpp"
#include "value/nodes.hpp"

namespace theus {

using detail::ListRoot;
using detail::PVec;

namespace {

ListRoot* make_root(PVec<Value> vec) {
  if (vec.empty()) return nullptr;
  auto* r = new ListRoot();
  r->vec = std::move(vec);
  return r;
}

const PVec<Value>& empty_vec() {
  static const PVec<Value> kEmpty;
  return kEmpty;
}

}  // namespace

List::List(std::initializer_list<Value> items) : List(from_vector(std::vector<Value>(items))) {}

List List::from_vector(std::vector<Value> items) {
  return List(make_root(PVec<Value>::build(std::move(items))));
}

namespace detail {
void destroy_list_root(ListRoot* root) noexcept { ListRoot::destroy(root); }
}  // namespace detail

size_t List::size() const noexcept { return root_ ? root_->vec.size() : 0; }

const Value& List::operator[](size_t i) const noexcept {
  assert(i < size());
  return root_->vec[i];
}

const Value* List::get(size_t i) const noexcept { return i < size() ? &root_->vec[i] : nullptr; }

List List::push_back(Value value) const {
  const PVec<Value>& v = root_ ? root_->vec : empty_vec();
  return List(make_root(v.push_back(std::move(value))));
}

List List::set(size_t i, Value value) const {
  assert(i < size());
  return List(make_root(root_->vec.set(i, std::move(value))));
}

List List::insert(size_t i, Value value) const {
  assert(i <= size());
  if (i == size()) return push_back(std::move(value));
  std::vector<Value> items = to_vector();
  items.insert(items.begin() + static_cast<std::ptrdiff_t>(i), std::move(value));
  return from_vector(std::move(items));
}

List List::erase(size_t i) const {
  assert(i < size());
  if (i + 1 == size()) return pop_back();
  std::vector<Value> items = to_vector();
  items.erase(items.begin() + static_cast<std::ptrdiff_t>(i));
  return from_vector(std::move(items));
}

List List::pop_back() const {
  assert(!empty());
  return List(make_root(root_->vec.pop_back()));
}

std::vector<Value> List::to_vector() const {
  return root_ ? root_->vec.to_vector() : std::vector<Value>{};
}

bool List::same_as(const List& other) const noexcept {
  return root_ == other.root_ || (root_ && other.root_ && root_->vec.same_nodes(other.root_->vec));
}

bool operator==(const List& a, const List& b) {
  if (a.same_as(b)) return true;
  if (a.size() != b.size()) return false;
  auto ia = a.begin(), ib = b.begin();
  for (; ia != a.end(); ++ia, ++ib)
    if (!(*ia == *ib)) return false;
  return true;
}

List::Iterator List::begin() const noexcept { return Iterator(this, 0); }
List::Iterator List::end() const noexcept { return Iterator(this, size()); }

List::Iterator::Iterator(const List* list, size_t i) noexcept : list_(list), i_(i), base_(i) {
  if (i_ < list_->size()) {
    auto c = list_->root_->vec.chunk_for(i_);
    base_ = c.base;
    chunk_ = c.items;
    chunk_len_ = c.n;
  }
}

List::Iterator& List::Iterator::operator++() noexcept {
  ++i_;
  if (i_ >= base_ + chunk_len_ && i_ < list_->size()) {
    auto c = list_->root_->vec.chunk_for(i_);
    base_ = c.base;
    chunk_ = c.items;
    chunk_len_ = c.n;
  }
  return *this;
}

}  // namespace theus
