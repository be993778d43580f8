#include "eclip/runtime/trace_observer.hpp"

#include <cerrno>
#include <cstring>
#include <exception>

#include <fmt/format.h>

#include "eclip/core/error.hpp"

namespace eclip {
namespace {

/// `text` as a JSON string literal. Bytes outside ASCII become '?' so the file stays valid UTF-8
/// whatever a runtime calls its kernels.
std::string quoted(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out.push_back('"');
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(ch);
    } else if (c < 0x20) {
      out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
    } else if (c >= 0x80) {
      out.push_back('?');
    } else {
      out.push_back(ch);
    }
  }
  out.push_back('"');
  return out;
}

const char* boolean(bool b) { return b ? "true" : "false"; }

}  // namespace

TraceObserver::TraceObserver(std::string path, Options options)
    : path_(std::move(path)), options_(std::move(options)) {
  if (path_.empty()) throw Error(Errc::invalid_argument, "trace: the path is empty");
  file_path_ = options_.write_in_place ? path_ : path_ + ".tmp";
  file_ = std::fopen(file_path_.c_str(), "w");
  if (!file_)
    throw Error(Errc::invalid_argument, fmt::format("trace: cannot write \"{}\": {}", file_path_, std::strerror(errno)));
  std::lock_guard lock(mutex_);
  std::fputs("[", file_);
  emit(fmt::format(R"({{"ph":"M","name":"process_name","pid":{},"tid":0,"args":{{"name":{}}}}})", pid_,
                   quoted(options_.process_name)));
}

TraceObserver::~TraceObserver() {
  try {
    close();
  } catch (...) {  // a destructor must not throw; close() reports errors to those who ask
  }
}

void TraceObserver::close() {
  std::lock_guard lock(mutex_);
  if (!file_) return;
  std::fputs("\n]\n", file_);
  const bool flushed = std::fflush(file_) == 0 && !std::ferror(file_);
  const int saved = errno;
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!flushed || !closed || failed_) {
    if (!options_.write_in_place) std::remove(file_path_.c_str());
    throw Error(Errc::invalid_argument, fmt::format("trace: writing \"{}\" failed: {}", file_path_,
                                      std::strerror(flushed ? errno : saved)));
  }
  if (!options_.write_in_place && std::rename(file_path_.c_str(), path_.c_str()) != 0) {
    const int e = errno;
    std::remove(file_path_.c_str());
    throw Error(Errc::invalid_argument, fmt::format("trace: cannot put the trace at \"{}\": {}", path_, std::strerror(e)));
  }
}

void TraceObserver::discard() noexcept {
  std::lock_guard lock(mutex_);
  if (!file_) return;
  std::fclose(file_);
  file_ = nullptr;
  if (!options_.write_in_place) std::remove(file_path_.c_str());
}

std::uint64_t TraceObserver::events() const {
  std::lock_guard lock(mutex_);
  return events_;
}

double TraceObserver::now_us() const {
  if (clock_) return clock_();
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start_).count();
}

void TraceObserver::emit(const std::string& event) {
  if (!file_) return;
  std::fputs(events_ == 0 ? "\n" : ",\n", file_);
  if (std::fputs(event.c_str(), file_) < 0) failed_ = true;
  if (options_.flush_each_event) std::fflush(file_);
  ++events_;
}

void TraceObserver::meet_worker(unsigned worker) {
  if (!seen_.insert(worker).second) return;
  emit(fmt::format(R"({{"ph":"M","name":"thread_name","pid":{},"tid":{},"args":{{"name":"worker {}"}}}})", pid_,
                   worker, worker));
}

const std::string& TraceObserver::stream_name(StreamHandle s) {
  auto it = stream_names_.find(s.value);
  if (it == stream_names_.end()) {
    std::string name = options_.describe_stream ? options_.describe_stream(s) : fmt::format("{:#x}", s.value);
    it = stream_names_.emplace(s.value, quoted(name)).first;
  }
  return it->second;
}

void TraceObserver::on_request(unsigned worker) noexcept {
  try {
    std::lock_guard lock(mutex_);
    if (!file_) return;
    meet_worker(worker);
    const std::uint64_t n = ++requests_[worker];
    emit(fmt::format(
        R"({{"ph":"i","s":"t","cat":"request","name":"request {}","pid":{},"tid":{},"ts":{:.3f},"args":{{"worker":{},"request":{}}}}})",
        n, pid_, worker, now_us(), worker, n));
  } catch (...) {  // out of memory: the event is lost, the launch is not
  }
}

void TraceObserver::on_route(unsigned worker, const RouteDecision& d) noexcept {
  try {
    std::lock_guard lock(mutex_);
    if (!file_) return;
    meet_worker(worker);
    const double ts = now_us();
    const long long position = d.kernel == RouteDecision::kNoPosition ? -1 : static_cast<long long>(d.kernel);
    const std::string name = d.name && *d.name ? quoted(d.name)
                             : position >= 0   ? fmt::format("\"kernel {}\"", position)
                                               : std::string("\"kernel\"");
    std::string event = fmt::format(
        R"({{"ph":"i","s":"t","cat":"launch","name":{},"pid":{},"tid":{},"ts":{:.3f},"args":{{"worker":{},"request":{},"position":{},"units":{},"slot":{},"stream":{},"lane":{},"switch":{},"barrier":{},"status":"{}")",
        name, pid_, worker, ts, worker, d.request, position, d.units, d.slot, stream_name(d.stream),
        stream_name(d.lane), boolean(d.switched), boolean(d.barrier), to_string(d.status));
    if (d.entry) event += fmt::format(R"(,"entry":{})", quoted(d.entry));
    event += "}}";
    emit(event);
    if (d.units != 0) {
      auto [it, fresh] = units_.emplace(worker, d.units);
      if (fresh || it->second != d.units) {
        it->second = d.units;
        emit(fmt::format(R"({{"ph":"C","name":"worker {} units","pid":{},"tid":{},"ts":{:.3f},"args":{{"units":{}}}}})",
                         worker, pid_, worker, ts, d.units));
      }
    }
  } catch (...) {
  }
}

void TraceObserver::on_join(unsigned worker, StreamHandle lane, bool barrier) noexcept {
  try {
    std::lock_guard lock(mutex_);
    if (!file_) return;
    meet_worker(worker);
    emit(fmt::format(
        R"({{"ph":"i","s":"t","cat":"join","name":"join","pid":{},"tid":{},"ts":{:.3f},"args":{{"worker":{},"lane":{},"barrier":{}}}}})",
        pid_, worker, now_us(), worker, stream_name(lane), boolean(barrier)));
  } catch (...) {
  }
}

void TraceObserver::on_run_begin(std::string_view name, std::function<double()> clock_us) noexcept {
  try {
    std::lock_guard lock(mutex_);
    if (!file_) return;
    if (events_ > 1) ++pid_;  // the first run keeps the first track unless something was traced on it
    clock_ = std::move(clock_us);
    requests_.clear();
    units_.clear();
    seen_.clear();
    stream_names_.clear();  // a new run's handles may repeat the old ones for other streams
    emit(fmt::format(R"({{"ph":"M","name":"process_name","pid":{},"tid":0,"args":{{"name":{}}}}})", pid_,
                     quoted(name)));
  } catch (...) {
  }
}

void TraceObserver::on_run_end() noexcept {
  std::lock_guard lock(mutex_);
  clock_ = nullptr;
}

}  // namespace eclip
