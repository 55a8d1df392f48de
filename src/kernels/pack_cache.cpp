#include "kernels/pack_cache.h"

namespace verge {

std::shared_ptr<const void> PackCache::get_or_build(const Key& key,
                                                    FunctionRef<std::shared_ptr<const void>()> build) {
  std::lock_guard lk(mu_);
  if (auto it = entries_.find(key); it != entries_.end()) {
    if (auto live = it->second.lock()) {
      ++reuses_;
      return live;
    }
  }
  for (auto it = entries_.begin(); it != entries_.end();)
    it = it->second.expired() ? entries_.erase(it) : ++it;
  std::shared_ptr<const void> made = build();
  entries_[key] = made;
  ++builds_;
  return made;
}

size_t PackCache::builds() const {
  std::lock_guard lk(mu_);
  return builds_;
}

size_t PackCache::reuses() const {
  std::lock_guard lk(mu_);
  return reuses_;
}

}  // namespace verge
