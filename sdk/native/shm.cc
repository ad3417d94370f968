// emflow shared-memory mapping: map a file (on /dev/shm) into an external ArrayBuffer, zero copy.
// Explicit unmap detaches the buffer so stale typed-array views read as empty instead of dangling.
#include <napi.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <string>
#include <unordered_map>

namespace {

struct Mapping {
  void* addr;
  size_t length;
  bool unmapped;
};

// Live mappings by address, so that an explicit unmap and the GC finalizer never both munmap.
std::unordered_map<void*, Mapping*> live;

void Finalize(Napi::Env, void*, Mapping* mapping) {
  if (!mapping->unmapped && mapping->addr != nullptr) {
    munmap(mapping->addr, mapping->length);
    live.erase(mapping->addr);
  }
  delete mapping;
}

Napi::Value Fail(Napi::Env env, const std::string& what, const std::string& path) {
  Napi::Error error = Napi::Error::New(env, what + " " + path + ": " + std::strerror(errno));
  error.Set("code", Napi::String::New(env, "EMFLOW_SHM"));
  error.ThrowAsJavaScriptException();
  return env.Undefined();
}

// map(path: string, size: number, mode: 'r' | 'rw'): ArrayBuffer. size 0 maps the whole file.
Napi::Value Map(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsString() || !info[1].IsNumber() || !info[2].IsString()) {
    Napi::TypeError::New(env, "map(path: string, size: number, mode: 'r' | 'rw')").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::string path = info[0].As<Napi::String>();
  int64_t requested = info[1].As<Napi::Number>().Int64Value();
  std::string mode = info[2].As<Napi::String>();
  bool writable = mode == "rw";
  if (!writable && mode != "r") {
    Napi::TypeError::New(env, "map: mode must be 'r' or 'rw'").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // a slot is a regular file: a link is not followed (it could name any file) and a FIFO put in its place
  // does not block the open
  int fd = open(path.c_str(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return Fail(env, "cannot open", path);
  struct stat st;
  if (fstat(fd, &st) != 0) {
    close(fd);
    return Fail(env, "cannot stat", path);
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    errno = EINVAL;
    return Fail(env, "not a regular file, cannot map", path);
  }
  size_t length = requested > 0 ? static_cast<size_t>(requested) : static_cast<size_t>(st.st_size);
  if (static_cast<int64_t>(length) > st.st_size || requested < 0) {
    close(fd);
    errno = ERANGE;
    return Fail(env, "mapping larger than file", path);
  }
  void* addr = nullptr;
  if (length > 0) {
    addr = mmap(nullptr, length, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
    if (addr == MAP_FAILED) {
      close(fd);
      return Fail(env, "cannot mmap", path);
    }
  }
  close(fd);  // the mapping keeps the pages alive
  auto* mapping = new Mapping{addr, length, false};
  if (addr != nullptr) live[addr] = mapping;
  return Napi::ArrayBuffer::New(env, addr, length, Finalize, mapping);
}

// unmap(buffer: ArrayBuffer): void. Idempotent; the buffer is detached afterwards.
Napi::Value Unmap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArrayBuffer()) {
    Napi::TypeError::New(env, "unmap(buffer: ArrayBuffer)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::ArrayBuffer buffer = info[0].As<Napi::ArrayBuffer>();
  void* addr = buffer.Data();
  auto found = live.find(addr);
  if (addr == nullptr || found == live.end()) return env.Undefined();
  Mapping* mapping = found->second;
  live.erase(found);
  buffer.Detach();
  munmap(mapping->addr, mapping->length);
  mapping->unmapped = true;
  return env.Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("map", Napi::Function::New(env, Map));
  exports.Set("unmap", Napi::Function::New(env, Unmap));
  return exports;
}

}  // namespace

NODE_API_MODULE(emflow_shm, Init)
