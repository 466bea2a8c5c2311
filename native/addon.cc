// Exports sendSimple, sendExtended and listProfiles, each (request) ->
// Promise<result>. Only argument checks live here; TypeScript decides and
// words everything else.
//
// Exception policy: C++ exceptions are ON (NAPI_CPP_EXCEPTIONS, defined in
// binding.gyp and CMakeLists.txt with NAPI_VERSION=8). A bad argument throws
// Napi::TypeError, which node-addon-api turns into a synchronous JS TypeError.
#include <napi.h>

#include <cstdint>

#include "dpapi.h"
#include "mapi_thread.h"
#include "registry.h"

// The policy above, enforced: node-gyp's common.gypi defines _HAS_EXCEPTIONS=0
// for MSVC, which would compile the STL without exceptions under code that
// catches std::bad_alloc (binding.gyp removes it; the build-files test checks).
#if !defined(NAPI_CPP_EXCEPTIONS) || defined(NAPI_DISABLE_CPP_EXCEPTIONS)
#error "oxymail is built with C++ exceptions on: define NAPI_CPP_EXCEPTIONS (binding.gyp, CMakeLists.txt)"
#endif
#if defined(_MSC_VER) && defined(_HAS_EXCEPTIONS) && !_HAS_EXCEPTIONS
#error "oxymail is built with C++ exceptions on: _HAS_EXCEPTIONS must be 1 (binding.gyp)"
#endif

namespace {

using oxymail::ExtendedSendRequest;
using oxymail::MapiAttachment;
using oxymail::MapiRecipient;
using oxymail::ProfileListRequest;
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

Napi::Object Request(const Napi::CallbackInfo& info, const char* fn) {
  if (info.Length() < 1 || !info[0].IsObject())
    throw Napi::TypeError::New(info.Env(), std::string(fn) + " expects a request object");
  return info[0].As<Napi::Object>();
}

std::string DllPath(const Napi::Object& o) {
  if (Field(o, "dllPath", &Napi::Value::IsString, "a string", true).IsUndefined()) return "";
  return Str(o, "dllPath");
}

uint64_t UiParam(const Napi::Object& o) {
  bool lossless = false;
  uint64_t v = Field(o, "uiParam", &Napi::Value::IsBigInt, "a bigint").As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) throw Napi::TypeError::New(o.Env(), "uiParam must fit in an unsigned 64-bit integer");
  // ulUIParam is a ULONG_PTR: a 32-bit process would silently cut a larger handle.
  if (v > UINTPTR_MAX) throw Napi::TypeError::New(o.Env(), "uiParam must fit in 32 bits in a 32-bit process");
  return v;
}

std::vector<MapiRecipient> Recipients(const Napi::Object& o) {
  std::vector<MapiRecipient> out;
  Napi::Array recipients = List(o, "recipients");
  for (uint32_t i = 0; i < recipients.Length(); ++i) {
    Napi::Value v = recipients.Get(i);
    if (!v.IsObject()) throw Napi::TypeError::New(o.Env(), "recipients[] must be objects");
    Napi::Object e = v.As<Napi::Object>();
    uint32_t cls = Field(e, "recipClass", &Napi::Value::IsNumber, "1, 2 or 3").As<Napi::Number>().Uint32Value();
    if (cls < 1 || cls > 3) throw Napi::TypeError::New(o.Env(), "recipClass must be 1, 2 or 3");
    out.push_back({cls, Str(e, "name"), Str(e, "address")});
  }
  return out;
}

std::vector<MapiAttachment> Attachments(const Napi::Object& o) {
  std::vector<MapiAttachment> out;
  Napi::Array attachments = List(o, "attachments");
  for (uint32_t i = 0; i < attachments.Length(); ++i) {
    Napi::Value v = attachments.Get(i);
    if (!v.IsObject()) throw Napi::TypeError::New(o.Env(), "attachments[] must be objects");
    Napi::Object e = v.As<Napi::Object>();
    out.push_back({Str(e, "path"), Str(e, "name")});
  }
  return out;
}

oxymail::MapiThread* Thread(const Napi::CallbackInfo& info) {
  return static_cast<oxymail::MapiThread*>(info.Data());
}

Napi::Value SendSimple(const Napi::CallbackInfo& info) {
  Napi::Object o = Request(info, "sendSimple");
  SimpleSendRequest r;
  r.dllPath = DllPath(o);
  r.hasProfile = !Field(o, "profile", &Napi::Value::IsString, "a string", true).IsUndefined();
  r.hasPassword = !Field(o, "password", &Napi::Value::IsString, "a string", true).IsUndefined();
  if (r.hasProfile) r.profile = Str(o, "profile");
  if (r.hasPassword) r.password = Str(o, "password");
  r.logon = r.hasProfile || r.hasPassword;
  r.logonUI = Bool(o, "logonUI");
  r.dialog = Bool(o, "dialog");
  r.uiParam = UiParam(o);
  r.subject = Str(o, "subject");
  r.body = Str(o, "body");
  r.readReceipt = Bool(o, "readReceipt");
  r.recipients = Recipients(o);
  r.attachments = Attachments(o);
  return Thread(info)->Enqueue(info.Env(), std::move(r));
}

Napi::Value SendExtended(const Napi::CallbackInfo& info) {
  Napi::Object o = Request(info, "sendExtended");
  ExtendedSendRequest r;
  r.dllPath = DllPath(o);
  r.hasProfile = !Field(o, "profile", &Napi::Value::IsString, "a string", true).IsUndefined();
  r.hasPassword = !Field(o, "password", &Napi::Value::IsString, "a string", true).IsUndefined();
  if (r.hasProfile) r.profile = Str(o, "profile");
  if (r.hasPassword) r.password = Str(o, "password");
  r.logonUI = Bool(o, "logonUI");
  r.uiParam = UiParam(o);
  r.subject = Str(o, "subject");
  r.body = Str(o, "body");
  Napi::Value importance = Field(o, "importance", &Napi::Value::IsNumber, "0, 1 or 2");
  double level = importance.As<Napi::Number>().DoubleValue();
  if (level != 0 && level != 1 && level != 2)
    throw Napi::TypeError::New(info.Env(), "importance must be 0, 1 or 2");
  r.importance = static_cast<uint32_t>(level);
  r.readReceipt = Bool(o, "readReceipt");
  r.deliveryReport = Bool(o, "deliveryReport");
  r.saveToSent = Bool(o, "saveToSent");
  r.recipients = Recipients(o);
  r.attachments = Attachments(o);
  return Thread(info)->Enqueue(info.Env(), std::move(r));
}

Napi::Value ListProfiles(const Napi::CallbackInfo& info) {
  Napi::Object o = Request(info, "listProfiles");
  ProfileListRequest r;
  r.dllPath = DllPath(o);
  return Thread(info)->Enqueue(info.Env(), std::move(r));
}

// DPAPI takes microseconds and never shows UI (CRYPTPROTECT_UI_FORBIDDEN):
// it runs right here, and the promise only keeps the JS API uniform.
Napi::Value Dpapi(const Napi::CallbackInfo& info, bool protect) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsBuffer()) throw Napi::TypeError::New(env, "expects a Buffer");
  Napi::Buffer<char> in = info[0].As<Napi::Buffer<char>>();
  std::string out;
  uint32_t error = protect ? oxymail::DpapiProtect(std::string(in.Data(), in.Length()), &out)
                           : oxymail::DpapiUnprotect(std::string(in.Data(), in.Length()), &out);
  auto deferred = Napi::Promise::Deferred::New(env);
  if (error != 0) {
    Napi::Error e = Napi::Error::New(env, std::string(protect ? "CryptProtectData" : "CryptUnprotectData") +
                                              " failed (Win32 error " + std::to_string(error) + ")");
    e.Set("win32Error", Napi::Number::New(env, error));
    deferred.Reject(e.Value());
  } else {
    deferred.Resolve(Napi::Buffer<char>::Copy(env, out.data(), out.size()));
  }
  return deferred.Promise();
}

// readRegistry(hive 'HKCU' | 'HKLM', subkey, name | null) -> { type, data } | null,
// synchronous (microseconds): the default mail client's values, as this
// process's MAPI32 will read them, for the bitness check TypeScript makes.
Napi::Value ReadRegistry(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsString() || !info[1].IsString() || !(info[2].IsString() || info[2].IsNull()))
    throw Napi::TypeError::New(env, "readRegistry expects (hive, subkey, name | null)");
  std::string hive = info[0].As<Napi::String>();
  if (hive != "HKCU" && hive != "HKLM") throw Napi::TypeError::New(env, "hive must be HKCU or HKLM");
  std::string name = info[2].IsNull() ? std::string() : info[2].As<Napi::String>().Utf8Value();
  oxymail::RegistryString v = oxymail::ReadRegistryString(hive == "HKCU", info[1].As<Napi::String>(), name);
  if (v.error == oxymail::kRegistryNotFound) return env.Null();
  if (v.error != 0) {
    Napi::Error e = Napi::Error::New(env, "RegGetValueW failed (Win32 error " + std::to_string(v.error) + ")");
    e.Set("win32Error", Napi::Number::New(env, v.error));
    throw e;
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("type", v.expand ? "REG_EXPAND_SZ" : "REG_SZ");
  out.Set("data", v.data);
  return out;
}

Napi::Value ProtectData(const Napi::CallbackInfo& info) { return Dpapi(info, true); }
Napi::Value UnprotectData(const Napi::CallbackInfo& info) { return Dpapi(info, false); }

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  oxymail::MapiThread* thread = oxymail::MapiThread::Create(env);
  exports.Set("sendSimple", Napi::Function::New(env, SendSimple, "sendSimple", thread));
  exports.Set("sendExtended", Napi::Function::New(env, SendExtended, "sendExtended", thread));
  exports.Set("listProfiles", Napi::Function::New(env, ListProfiles, "listProfiles", thread));
  exports.Set("protectData", Napi::Function::New(env, ProtectData, "protectData"));
  exports.Set("unprotectData", Napi::Function::New(env, UnprotectData, "unprotectData"));
  exports.Set("readRegistry", Napi::Function::New(env, ReadRegistry, "readRegistry"));
  return exports;
}

}  // namespace

NODE_API_MODULE(oxymail, Init)
