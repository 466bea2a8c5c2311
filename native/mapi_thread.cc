#include "mapi_thread.h"

#include <objbase.h>
#include <windows.h>

#include <string>
#include <system_error>

#include "simple_mapi.h"

namespace oxymail {

// One queued call: Run on the MAPI thread, Result on the main thread.
struct MapiThread::Job {
  Napi::Promise::Deferred deferred;
  explicit Job(Napi::Env env) : deferred(env) {}
  virtual ~Job() = default;
  virtual void Run(ExtendedMapi& extended) = 0;
  virtual Napi::Value Result(Napi::Env env) const = 0;
};

namespace {

Napi::Value ToJs(Napi::Env env, const SimpleSendResult& result) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("status", Napi::Number::New(env, result.status));
  out.Set("call", Napi::String::New(env, result.call));
  out.Set("unicode", Napi::Boolean::New(env, result.unicode));
  out.Set("win32Error", Napi::Number::New(env, result.win32Error));
  out.Set("dll", Napi::String::New(env, result.dll));
  out.Set("unrepresentable", Napi::String::New(env, result.unrepresentable));
  return out;
}

// What every Extended MAPI result reports: the HRESULT, the call that ended it, the DLL used.
template <typename Result>
Napi::Object HresultObject(Napi::Env env, const Result& result) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("hresult", Napi::Number::New(env, result.hresult));
  out.Set("call", Napi::String::New(env, result.call));
  out.Set("dll", Napi::String::New(env, result.dll));
  return out;
}

Napi::Value ToJs(Napi::Env env, const ExtendedSendResult& result) {
  Napi::Object out = HresultObject(env, result);
  out.Set("savedToSent", Napi::Boolean::New(env, result.savedToSent));
  return out;
}

Napi::Value ToJs(Napi::Env env, const ProfileListResult& result) {
  Napi::Object out = HresultObject(env, result);
  Napi::Array profiles = Napi::Array::New(env, result.profiles.size());
  for (size_t i = 0; i < result.profiles.size(); ++i) {
    Napi::Object p = Napi::Object::New(env);
    p.Set("name", Napi::String::New(env, result.profiles[i].name));
    p.Set("isDefault", Napi::Boolean::New(env, result.profiles[i].isDefault));
    profiles.Set(static_cast<uint32_t>(i), p);
  }
  out.Set("profiles", profiles);
  return out;
}

// std::bad_alloc is all the MAPI code can throw. The call name fits the
// small-string buffer, so reporting it allocates nothing.
constexpr char kThreadCall[] = "MAPI thread";
constexpr uint32_t kOutOfMemory = 0x8007000E;  // E_OUTOFMEMORY

void OutOfMemory(SimpleSendResult& result) {
  result.status = 5;  // MAPI_E_INSUFFICIENT_MEMORY
  result.call = kThreadCall;
}

// The Extended MAPI results (send, profiles) carry an HRESULT.
template <typename Result>
void OutOfMemory(Result& result) {
  result.hresult = kOutOfMemory;
  result.call = kThreadCall;
}

// One kind of request: `Work` runs it on the MAPI thread, ToJs reports it.
template <typename Request, typename Out, Out (*Work)(ExtendedMapi&, const Request&)>
struct TypedJob : MapiThread::Job {
  Request request;
  Out out;
  TypedJob(Napi::Env env, Request r) : Job(env), request(std::move(r)) {}
  void Run(ExtendedMapi& extended) override {
    try {
      out = Work(extended, request);
    } catch (...) {
      out = Out();
      OutOfMemory(out);
    }
  }
  Napi::Value Result(Napi::Env env) const override { return ToJs(env, out); }
};

SimpleSendResult RunSimple(ExtendedMapi&, const SimpleSendRequest& r) { return SendSimple(r); }
ExtendedSendResult RunExtended(ExtendedMapi& e, const ExtendedSendRequest& r) { return e.Send(r); }
ProfileListResult RunProfiles(ExtendedMapi& e, const ProfileListRequest& r) {
  return e.ListProfiles(r);
}

using SimpleJob = TypedJob<SimpleSendRequest, SimpleSendResult, RunSimple>;
using ExtendedJob = TypedJob<ExtendedSendRequest, ExtendedSendResult, RunExtended>;
using ProfilesJob = TypedJob<ProfileListRequest, ProfileListResult, RunProfiles>;

}  // namespace

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
  return Push(env, new SimpleJob(env, std::move(request)));
}

Napi::Promise MapiThread::Enqueue(Napi::Env env, ExtendedSendRequest request) {
  return Push(env, new ExtendedJob(env, std::move(request)));
}

Napi::Promise MapiThread::Enqueue(Napi::Env env, ProfileListRequest request) {
  return Push(env, new ProfilesJob(env, std::move(request)));
}

Napi::Promise MapiThread::Push(Napi::Env env, Job* job) {
  std::unique_ptr<Job> owned(job);
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
  Napi::Promise promise = job->deferred.Promise();
  if (pending_++ == 0) tsfn_.Ref(env);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(owned.release());
  }
  wake_.notify_one();
  return promise;
}

void MapiThread::Run() {
  // Mail clients show dialogs and some use COM: give them a single-threaded
  // apartment, as they get on an application's UI thread.
  HRESULT com = CoInitializeEx(nullptr, COINIT_APARTMENTTHREADED);
  extended_.reset(new ExtendedMapi());
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) break;
    Job* job = queue_.front();
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    job->Run(*extended_);
    lock.lock();
    busy_ = false;
    // Checked under the lock that Teardown takes: once stopping_ is set the
    // TSFN may already be gone.
    if (stopping_ || tsfn_.NonBlockingCall(job) != napi_ok) delete job;
  }
  lock.unlock();
  // Sessions logged off and MAPIUninitialize called here, on the thread that
  // called MAPIInitialize, before anything is unloaded.
  extended_->Shutdown();
  extended_.reset();
  if (SUCCEEDED(com)) CoUninitialize();
}

void MapiThread::Deliver(Napi::Env env, Napi::Function, MapiThread* self, Job* job) {
  if (env == nullptr) {  // the TSFN is being torn down with this job queued
    delete job;
    return;
  }
  job->deferred.Resolve(job->Result(env));
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
