#include "mapi_thread.h"

#include <objbase.h>
#include <windows.h>

#include <string>
#include <system_error>

#include "simple_mapi.h"

namespace oxymail {

struct MapiThread::Job {
  SimpleSendRequest request;
  SimpleSendResult result;
  Napi::Promise::Deferred deferred;
  Job(Napi::Env env, SimpleSendRequest r) : request(std::move(r)), deferred(env) {}
};

MapiThread* MapiThread::Create(Napi::Env env) {
  auto* self = new MapiThread(env);
  // Registered after the TSFN so it runs first (hooks run in reverse order),
  // while the TSFN still exists.
  napi_add_env_cleanup_hook(
      env, [](void* arg) { Teardown(static_cast<MapiThread*>(arg)); }, self);
  return self;
}

MapiThread::MapiThread(Napi::Env env) {
  tsfn_ = Tsfn::New(env, "oxymail-mapi", 0, 1, this);
  // An idle addon must not keep node alive: ref only while sends are pending.
  tsfn_.Unref(env);
}

Napi::Promise MapiThread::Enqueue(Napi::Env env, SimpleSendRequest request) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!thread_.joinable()) {
      // Started on first use: loading the addon alone costs no thread.
      try {
        thread_ = std::thread(&MapiThread::Run, this);
      } catch (const std::system_error& e) {
        throw Napi::Error::New(env, std::string("cannot start the MAPI thread: ") + e.what());
      }
    }
  }
  auto* job = new Job(env, std::move(request));
  Napi::Promise promise = job->deferred.Promise();
  if (pending_++ == 0) tsfn_.Ref(env);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(job);
  }
  wake_.notify_one();
  return promise;
}

void MapiThread::Run() {
  // Mail clients show dialogs and some use COM: give them a single-threaded
  // apartment, as they get on an application's UI thread.
  HRESULT com = CoInitializeEx(nullptr, COINIT_APARTMENTTHREADED);
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) break;
    Job* job = queue_.front();
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    try {
      job->result = SendSimple(job->request);
    } catch (...) {
      job->result.status = 5;  // MAPI_E_INSUFFICIENT_MEMORY: bad_alloc is all that can throw
    }
    lock.lock();
    busy_ = false;
    // Checked under the lock that Teardown takes: once stopping_ is set the
    // TSFN may already be gone.
    if (stopping_ || tsfn_.NonBlockingCall(job) != napi_ok) delete job;
  }
  lock.unlock();
  if (SUCCEEDED(com)) CoUninitialize();
}

void MapiThread::Deliver(Napi::Env env, Napi::Function, MapiThread* self, Job* job) {
  if (env == nullptr) {  // the TSFN is being torn down with this job queued
    delete job;
    return;
  }
  const SimpleSendResult& r = job->result;
  Napi::Object out = Napi::Object::New(env);
  out.Set("status", Napi::Number::New(env, r.status));
  out.Set("call", Napi::String::New(env, r.call));
  out.Set("unicode", Napi::Boolean::New(env, r.unicode));
  out.Set("win32Error", Napi::Number::New(env, r.win32Error));
  out.Set("dll", Napi::String::New(env, r.dll));
  job->deferred.Resolve(out);
  delete job;
  if (--self->pending_ == 0) self->tsfn_.Unref(env);
}

void MapiThread::Teardown(MapiThread* self) {
  bool busy;
  {
    std::lock_guard<std::mutex> lock(self->mutex_);
    self->stopping_ = true;
    busy = self->busy_;
    for (Job* job : self->queue_) delete job;
    self->queue_.clear();
  }
  self->wake_.notify_one();
  if (self->thread_.joinable()) {
    if (!busy) {
      self->thread_.join();
    } else {
      // The process is exiting (process.exit() or a worker terminated) while
      // a mail client call is still running, maybe a dialog: do not wait for
      // the user. The thread keeps using `self`, which is therefore leaked.
      self->thread_.detach();
      self->tsfn_.Abort();
      return;
    }
  }
  self->tsfn_.Release();
  delete self;
}

}  // namespace oxymail
