// The one thread that talks to the mail client, and its FIFO queue.
//
// A Simple MAPI send can show a compose dialog and block for minutes, so it
// runs neither on the event loop nor on libuv's 4 pool threads (an
// AsyncWorker would hold one for as long as the dialog is open). Sends are
// queued and run one after the other: mail clients are not reentrant.
// Extended MAPI jobs run on the same thread, which owns MAPIInitialize, the
// cached sessions and MAPIUninitialize (ExtendedMapi).
#ifndef OXYMAIL_MAPI_THREAD_H_
#define OXYMAIL_MAPI_THREAD_H_

#include <napi.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <memory>
#include <thread>

#include "extended_mapi.h"
#include "mapi_request.h"

namespace oxymail {

class MapiThread {
 public:
  // One per Node environment (main thread or worker), freed on env teardown.
  static MapiThread* Create(Napi::Env env);

  // Main thread only. The promise resolves with the result object; it never
  // rejects.
  Napi::Promise Enqueue(Napi::Env env, SimpleSendRequest request);
  Napi::Promise Enqueue(Napi::Env env, ExtendedSendRequest request);
  Napi::Promise Enqueue(Napi::Env env, ProfileListRequest request);

  struct Job;

 private:
  Napi::Promise Push(Napi::Env env, Job* job);
  static void Deliver(Napi::Env env, Napi::Function, MapiThread* self, Job* job);
  using Tsfn = Napi::TypedThreadSafeFunction<MapiThread, Job, &MapiThread::Deliver>;

  explicit MapiThread(Napi::Env env);
  void Run();
  static void Teardown(MapiThread* self);

  Tsfn tsfn_;
  size_t pending_ = 0;  // sends not yet delivered; main thread only

  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job*> queue_;
  // Created, used and shut down on the MAPI thread only.
  std::unique_ptr<ExtendedMapi> extended_;
  bool stopping_ = false;
  bool busy_ = false;
};

}  // namespace oxymail

#endif  // OXYMAIL_MAPI_THREAD_H_
