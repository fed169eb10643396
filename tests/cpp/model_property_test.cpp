// Model-based concurrent property test of the transaction / CAS core: several threads run random
// transactions (reads, sets, erases, merges, list operations over overlapping ancestors and
// descendants; some aborted) against one engine. A commit observer logs every installed version.
// Afterwards the run is checked against the naive model (tests/cpp/naive_model.hpp):
//   1. committed versions are exactly 1..N, each made by exactly one committed transaction;
//   2. replaying the committed deltas serially in commit order reproduces every version's data;
//      each transaction's working view equals its base version plus its own deltas;
//   3. no two committed transactions with overlapping writes were based before the other's commit;
//   4. aborted / failed transactions leave no trace (no version, no outbox message).
#include <gtest/gtest.h>

#include <latch>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "naive_model.hpp"
#include "theus/engine.hpp"
#include "txn/test_printers.hpp"

namespace theus {
namespace {

using model::Node;
using model::Segs;

enum class Fate { kCommitted, kFailed, kAborted, kDropped };

struct TxRecord {
  std::string id;
  uint64_t base = 0;
  std::vector<std::pair<Path, std::optional<Value>>> reads;  // before any write
  std::vector<Delta> deltas;
  Value data;  // the working data root after the writes
  Fate fate = Fate::kDropped;
  Status status;
};

struct CommitRecord {
  uint64_t version = 0;
  std::string id;
  std::vector<Delta> deltas;
  Map data;
};

Path P(std::string_view text) { return Path::parse(text).value(); }

// Random operations over a small key space so that transactions overlap.
class Workload {
 public:
  explicit Workload(uint32_t seed) : rng_(seed) {}

  int pick(int n) { return static_cast<int>(rng_() % static_cast<uint32_t>(n)); }
  Value val() { return Value(pick(100)); }

  Path read_path() {
    static const char* kReads[] = {"domain",   "domain.a", "domain.a.x", "domain.b",
                                   "domain.q", "domain.c", "domain.r"};
    return P(kReads[pick(7)]);
  }

  // One write; failures (type mismatch, missing key) leave the transaction unchanged.
  void write(Transaction& tx) {
    static const char* kLeaves[] = {"domain.a.x", "domain.a.y", "domain.b.x",
                                    "domain.b.y", "domain.c",   "domain.s"};
    static const char* kErasable[] = {"domain.a", "domain.a.x", "domain.b.y",
                                      "domain.c", "domain.s",   "domain.q"};
    Path q = P("domain.q");
    switch (pick(14)) {
      case 0:
      case 1:
        (void)tx.set(P(kLeaves[pick(6)]), val());
        break;
      case 2:  // an ancestor write replacing a whole subtree
        (void)tx.set(P(pick(2) ? "domain.a" : "domain.b"), Map{{"x", val()}, {"y", val()}});
        break;
      case 3:
        (void)tx.erase(P(kErasable[pick(6)]));
        break;
      case 4:
        (void)tx.update(Map{{"domain", Map{{"a", Map{{"x", val()}}}}}});
        break;
      case 5:
        (void)tx.update(Map{{"domain.b", Map{{"y", val()}, {"z", val()}}}, {"domain.c", val()}});
        break;
      case 6:
        (void)tx.list_append(q, val());
        break;
      case 7:
        (void)tx.list_insert(q, pick(4) - 1, val());
        break;
      case 8:
        (void)tx.list_pop(q, pick(2) ? -1 : 0);
        break;
      case 9:
        (void)tx.list_replace(P("domain.r"), List{val(), val()});
        break;
      case 10:
        (void)tx.list_clear(q);
        break;
      case 11:
        (void)tx.clear(P("domain.b"));
        break;
      case 12:
        (void)tx.set(q, List{val()});
        break;
      case 13: {  // an element of the list, by index (only while it is a list)
        auto cur = tx.find(q);
        if (cur.is_ok() && *cur && (*cur)->is_list()) {
          int64_t size = static_cast<int64_t>((*cur)->as_list().size());
          (void)tx.set(q.child(Value(static_cast<int64_t>(pick(static_cast<int>(size) + 1)))),
                       val());
        }
        break;
      }
    }
  }

 private:
  std::minstd_rand rng_;
};

constexpr int kThreads = 4;
constexpr int kTxPerThread = 300;

class ModelPropertyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    engine_.add_commit_observer([this](const Snapshot& s, const CommitView& v) {
      std::lock_guard lock(log_mu_);
      log_.push_back({s.version, v.requester.value_or(""), v.deltas, s.data});
    });
  }

  void run_thread(int t) {
    Workload w(1234u + static_cast<uint32_t>(t) * 7919u);
    start_.arrive_and_wait();  // all threads race from the same moment
    for (int n = 0; n < kTxPerThread; ++n) {
      TxRecord rec;
      rec.id = "t" + std::to_string(t) + "-" + std::to_string(n);
      TransactionOptions opts;
      opts.requester = rec.id;
      Transaction tx = engine_.transaction(opts);
      rec.base = tx.base_version();
      for (int r = 0; r < 2; ++r) {
        Path p = w.read_path();
        auto got = tx.find(p);
        if (got.is_ok()) rec.reads.emplace_back(p, *got);
      }
      int ops = 1 + w.pick(4);
      for (int k = 0; k < ops; ++k) {
        w.write(tx);
        if (w.pick(3) == 0) std::this_thread::yield();  // widen the race window
      }
      rec.deltas = tx.deltas();
      rec.data = tx.data();
      tx.add_outbox({rec.id, Value()});
      int fate = w.pick(20);
      if (fate == 0) {
        tx.abort();
        rec.fate = Fate::kAborted;
      } else if (fate == 1) {
        rec.fate = Fate::kDropped;  // destroyed while open
      } else {
        rec.status = tx.commit();
        rec.fate = rec.status.is_ok() ? Fate::kCommitted : Fate::kFailed;
      }
      records_[static_cast<size_t>(t)].push_back(std::move(rec));
    }
  }

  Engine engine_;
  std::latch start_{kThreads};
  std::mutex log_mu_;
  std::vector<CommitRecord> log_;
  std::vector<std::vector<TxRecord>> records_ = std::vector<std::vector<TxRecord>>(kThreads);

  void run_all() {
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) threads.emplace_back([this, t] { run_thread(t); });
    for (auto& th : threads) th.join();
  }

  void verify(bool strict);
};

TEST_F(ModelPropertyTest, ConcurrentTransactionsAreSerializableAgainstTheModel) {
  run_all();
  verify(/*strict=*/false);
}

TEST_F(ModelPropertyTest, StrictCasCommitsOnlyOnTheCurrentHead) {
  engine_.set_strict_cas(true);
  run_all();
  verify(/*strict=*/true);
}

void ModelPropertyTest::verify(bool strict) {
  std::map<std::string, const TxRecord*> by_id;
  size_t committed = 0, failed = 0, aborted = 0;
  for (const auto& per_thread : records_) {
    for (const TxRecord& r : per_thread) {
      by_id[r.id] = &r;
      committed += r.fate == Fate::kCommitted;
      aborted += r.fate == Fate::kAborted || r.fate == Fate::kDropped;
      if (r.fate == Fate::kFailed) {
        ++failed;
        // The only legitimate failure here is a conflict (never a replay error).
        EXPECT_EQ(r.status.code(), strict ? ErrorCode::kStrictConflict : ErrorCode::kConflict)
            << r.id << ": " << r.status.to_string();
      }
    }
  }
  // The workload must actually exercise conflicts and aborts.
  EXPECT_GT(failed, 0u);
  EXPECT_GT(aborted, 0u);

  // (1) versions 1..N, one committed transaction each; (4) nothing else committed.
  ASSERT_EQ(log_.size(), committed);
  ASSERT_EQ(engine_.version(), committed);
  std::map<std::string, uint64_t> version_of;
  for (size_t k = 0; k < log_.size(); ++k) {
    ASSERT_EQ(log_[k].version, k + 1);
    auto it = by_id.find(log_[k].id);
    ASSERT_NE(it, by_id.end());
    ASSERT_EQ(it->second->fate, Fate::kCommitted) << log_[k].id;
    ASSERT_TRUE(version_of.emplace(log_[k].id, log_[k].version).second) << "committed twice";
    ASSERT_EQ(log_[k].deltas.size(), it->second->deltas.size());
  }

  // (2) serial replay against the model reproduces every version.
  std::vector<Node> model_at{Node::map()};  // model_at[v] = data at version v
  for (const CommitRecord& c : log_) {
    Node next = model_at.back();
    for (const Delta& d : c.deltas)
      ASSERT_TRUE(model::apply(next, d, /*replay=*/true)) << c.id << ": " << d.describe();
    ASSERT_EQ(model::from_value(Value(c.data)), next) << "version " << c.version;
    model_at.push_back(std::move(next));
  }
  EXPECT_EQ(model::from_value(Value(engine_.snapshot()->data)), model_at.back());

  // Each transaction read its base version and saw its own writes on top of it.
  for (const auto& [id, r] : by_id) {
    ASSERT_LT(r->base, model_at.size());
    const Node& base = model_at[r->base];
    for (const auto& [path, got] : r->reads) {
      std::optional<Node> want;
      ASSERT_TRUE(model::find(base, model::segs_of(path), &want)) << id;
      ASSERT_EQ(want.has_value(), got.has_value()) << id << " read " << path.to_string();
      if (want) {
        EXPECT_EQ(*want, model::from_value(*got)) << id << " read " << path.to_string();
      }
    }
    Node view = base;
    for (const Delta& d : r->deltas) ASSERT_TRUE(model::apply(view, d, /*replay=*/false)) << id;
    EXPECT_EQ(model::from_value(r->data), view) << id;
  }

  // (3) overlapping writers never both commit against a base older than the other's commit.
  std::vector<std::vector<Segs>> writes(log_.size());
  for (size_t k = 0; k < log_.size(); ++k)
    for (const Delta& d : log_[k].deltas)
      for (Segs& s : model::written_paths(d)) writes[k].push_back(std::move(s));
  for (size_t b = 0; b < log_.size(); ++b) {
    uint64_t base_b = by_id[log_[b].id]->base;
    if (strict) {
      EXPECT_EQ(base_b + 1, log_[b].version) << log_[b].id;  // whole-state version equality
    }
    for (size_t a = 0; a < b; ++a) {
      if (base_b >= log_[a].version) continue;  // b saw a's commit
      for (const Segs& wa : writes[a])
        for (const Segs& wb : writes[b])
          ASSERT_FALSE(model::overlaps(wa, wb))
              << log_[b].id << " (base " << base_b << ", v" << log_[b].version
              << ") overlaps the write of " << log_[a].id << " (v" << log_[a].version << ")";
    }
  }

  // (4) the outbox holds exactly the committed transactions' messages, in commit order.
  auto out = engine_.drain_outbox();
  ASSERT_EQ(out.size(), log_.size());
  for (size_t k = 0; k < out.size(); ++k) EXPECT_EQ(out[k].topic, log_[k].id);
  EXPECT_EQ(engine_.stats().commits, committed);
  EXPECT_EQ(engine_.stats().conflicts, failed);
}

}  // namespace
}  // namespace theus
