// Exports sendSimple(request) -> Promise<result>. Only argument checks live
// here; TypeScript decides and words everything else.
//
// Exception policy: C++ exceptions are ON (NAPI_CPP_EXCEPTIONS, defined in
// binding.gyp and CMakeLists.txt with NAPI_VERSION=8). A bad argument throws
// Napi::TypeError, which node-addon-api turns into a synchronous JS TypeError.
#include <napi.h>

#include "mapi_thread.h"

namespace {

using oxymail::SimpleSendRequest;

Napi::Value Field(const Napi::Object& o, const char* key, bool (Napi::Value::*is)() const,
                  const char* type, bool optional = false) {
  Napi::Value v = o.Get(key);
  if (optional && v.IsUndefined()) return v;
  if (!(v.*is)()) throw Napi::TypeError::New(o.Env(), std::string(key) + " must be " + type);
  return v;
}

std::string Str(const Napi::Object& o, const char* key) {
  std::string s = Field(o, key, &Napi::Value::IsString, "a string").As<Napi::String>();
  // MAPI strings are NUL-terminated: an embedded NUL would silently cut them.
  if (s.find('\0') != std::string::npos)
    throw Napi::TypeError::New(o.Env(), std::string(key) + " must not contain NUL");
  return s;
}

bool Bool(const Napi::Object& o, const char* key) {
  return Field(o, key, &Napi::Value::IsBoolean, "a boolean").As<Napi::Boolean>();
}

Napi::Array List(const Napi::Object& o, const char* key) {
  return Field(o, key, &Napi::Value::IsArray, "an array").As<Napi::Array>();
}

Napi::Value SendSimple(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject())
    throw Napi::TypeError::New(env, "sendSimple expects a request object");
  Napi::Object o = info[0].As<Napi::Object>();
  SimpleSendRequest r;
  if (!Field(o, "dllPath", &Napi::Value::IsString, "a string", true).IsUndefined())
    r.dllPath = Str(o, "dllPath");
  r.hasProfile = !Field(o, "profile", &Napi::Value::IsString, "a string", true).IsUndefined();
  r.hasPassword = !Field(o, "password", &Napi::Value::IsString, "a string", true).IsUndefined();
  if (r.hasProfile) r.profile = Str(o, "profile");
  if (r.hasPassword) r.password = Str(o, "password");
  r.logon = r.hasProfile || r.hasPassword;
  r.logonUI = Bool(o, "logonUI");
  r.dialog = Bool(o, "dialog");
  bool lossless = false;
  r.uiParam = Field(o, "uiParam", &Napi::Value::IsBigInt, "a bigint").As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) throw Napi::TypeError::New(env, "uiParam must fit in an unsigned 64-bit integer");
  r.subject = Str(o, "subject");
  r.body = Str(o, "body");
  r.readReceipt = Bool(o, "readReceipt");
  Napi::Array recipients = List(o, "recipients");
  for (uint32_t i = 0; i < recipients.Length(); ++i) {
    Napi::Value v = recipients.Get(i);
    if (!v.IsObject()) throw Napi::TypeError::New(env, "recipients[] must be objects");
    Napi::Object e = v.As<Napi::Object>();
    uint32_t cls = Field(e, "recipClass", &Napi::Value::IsNumber, "1, 2 or 3").As<Napi::Number>().Uint32Value();
    if (cls < 1 || cls > 3) throw Napi::TypeError::New(env, "recipClass must be 1, 2 or 3");
    r.recipients.push_back({cls, Str(e, "name"), Str(e, "address")});
  }
  Napi::Array attachments = List(o, "attachments");
  for (uint32_t i = 0; i < attachments.Length(); ++i) {
    Napi::Value v = attachments.Get(i);
    if (!v.IsObject()) throw Napi::TypeError::New(env, "attachments[] must be objects");
    Napi::Object e = v.As<Napi::Object>();
    r.attachments.push_back({Str(e, "path"), Str(e, "name")});
  }
  auto* thread = static_cast<oxymail::MapiThread*>(info.Data());
  return thread->Enqueue(env, std::move(r));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  oxymail::MapiThread* thread = oxymail::MapiThread::Create(env);
  exports.Set("sendSimple", Napi::Function::New(env, SendSimple, "sendSimple", thread));
  return exports;
}

}  // namespace

NODE_API_MODULE(oxymail, Init)
