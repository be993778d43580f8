#pragma once
// TraceObserver: writes every routing decision as a Chrome/Perfetto trace (the JSON Array Format
// of the Trace Event Format; ui.perfetto.dev and chrome://tracing open it). One file format for the
// three places eclip routes: a KernelRouter in a program (attach it as the router's observer), the
// transparent-mode interposer (ECLIP_TRACE=path.json) and `eclip simulate --trace FILE`.
//
// What is in it, per process track ("pid": one per run; a simulator run is named by its device,
// mix and strategy) and per worker ("tid" = worker, thread name "worker N"):
//  - a launch: an instant event, cat "launch", named by the kernel ("kernel <position>" when the
//    name is unknown), args: worker, request, position (-1: none), units (the partition's compute
//    units), slot, stream, lane (the lane's home: the application's stream in the interposer),
//    switch, barrier, status (routed / no_plan_entry / backend_error / budget_held / captured) and
//    entry (the API entry point, interposer only);
//  - a counter "worker N units" that steps whenever the worker's partition changes;
//  - a request boundary: an instant event, cat "request", named "request N";
//  - a join: an instant event, cat "join" (a non-kernel operation made a lane come home), args:
//    lane, barrier.
// "ts" is in microseconds: host time since the observer was made (steady clock), or the
// simulator's time during a run whose on_run_begin gave a clock.
//
// The file is "[" then one event per line, each after a comma but the first, then "]" at close():
// valid JSON once closed; a process killed before that leaves only the "]" missing, which the
// format allows (both viewers open it). Thread-safe: events are written under one mutex.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "eclip/runtime/observer.hpp"

namespace eclip {

class TraceObserver final : public Observer {
 public:
  struct Options {
    /// false: write "<path>.tmp" and rename it over `path` at close(), so a failed or discarded
    /// run leaves the old file intact. true: write `path` itself, so a process that is killed
    /// still leaves a readable trace (the interposer).
    bool write_in_place = false;
    /// Flush after every event (whole events on disk even if the process dies; slower).
    bool flush_each_event = false;
    /// How a stream is named in "stream" and "lane" (called once per stream, under the trace's
    /// lock); default: the handle in hex.
    std::function<std::string(StreamHandle)> describe_stream;
    /// The name of the first process track (later ones are named by on_run_begin).
    std::string process_name = "eclip";
  };

  /// Opens the trace; throws eclip::Error naming the path and the reason when it cannot.
  explicit TraceObserver(std::string path) : TraceObserver(std::move(path), Options{}) {}
  TraceObserver(std::string path, Options options);
  /// Completes the file (close()); errors are swallowed here: call close() to see them.
  ~TraceObserver() override;
  TraceObserver(const TraceObserver&) = delete;
  TraceObserver& operator=(const TraceObserver&) = delete;

  /// Writes the closing bracket and puts the file in place. Throws eclip::Error when the file
  /// cannot be completed (then, unless written in place, the old file at `path` is untouched and
  /// the temporary is removed). Later events are dropped. Idempotent.
  void close();
  /// Drops the trace: nothing is put at `path` (unless written in place). Idempotent.
  void discard() noexcept;

  const std::string& path() const noexcept { return path_; }
  /// Events written so far (metadata included).
  std::uint64_t events() const;

  void on_request(unsigned worker) noexcept override;
  void on_route(unsigned worker, const RouteDecision& decision) noexcept override;
  void on_join(unsigned worker, StreamHandle lane, bool barrier) noexcept override;
  void on_run_begin(std::string_view name, std::function<double()> clock_us) noexcept override;
  void on_run_end() noexcept override;

 private:
  double now_us() const;
  void emit(const std::string& event);  // under mutex_
  void meet_worker(unsigned worker);    // under mutex_: thread-name metadata on first sight
  const std::string& stream_name(StreamHandle s);

  std::string path_, file_path_;
  Options options_;
  mutable std::mutex mutex_;
  std::FILE* file_ = nullptr;
  bool failed_ = false;  ///< a write failed: close() reports it
  std::uint64_t events_ = 0;
  unsigned pid_ = 1;
  std::function<double()> clock_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::map<unsigned, std::uint64_t> requests_;  ///< per worker, this run
  std::map<unsigned, std::uint32_t> units_;     ///< per worker, this run: the last counter value
  std::set<unsigned> seen_;                     ///< workers named on this run's track
  std::map<std::uint64_t, std::string> stream_names_;
};

}  // namespace eclip
