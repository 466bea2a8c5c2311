// Extended MAPI: MAPILogonEx, the default store's Outbox, one-off recipients
// (IAddrBook::CreateOneOff), SubmitMessage, and the profile list, on a DLL
// loaded at run time. Windows only.
//
// An ExtendedMapi belongs to the MAPI thread: MAPIInitialize must be called
// on every thread that uses MAPI, and sessions must not cross threads, so
// one object, one thread, for the life of the addon.
#ifndef OXYMAIL_EXTENDED_MAPI_H_
#define OXYMAIL_EXTENDED_MAPI_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "mapi_request.h"

namespace oxymail {

class ExtendedMapi {
 public:
  ExtendedMapi();
  ~ExtendedMapi();
  ExtendedMapi(const ExtendedMapi&) = delete;
  ExtendedMapi& operator=(const ExtendedMapi&) = delete;

  // The first call for a DLL loads it and calls MAPIInitialize
  // (MAPI_MULTITHREAD_NOTIFICATIONS); a failed one is retried by the next.
  // Sessions are cached per profile and dropped after any failure, so the
  // next send logs on again.
  ExtendedSendResult Send(const ExtendedSendRequest& request);
  ProfileListResult ListProfiles(const ProfileListRequest& request);

  // Logs off every cached session, then MAPIUninitialize for each DLL that
  // was initialized. The DLLs stay loaded. Call it before the thread ends.
  void Shutdown();

  struct Provider;  // one loaded DLL: its functions, init state, sessions

 private:
  Provider* Get(const std::string& dllPath, std::string* dll, uint32_t* hresult,
                std::string* call);
  // One Provider per module: "MAPI32.DLL" and "mapi32.dll" share one
  // MAPIInitialize and one set of sessions.
  std::vector<std::unique_ptr<Provider>> providers_;
  std::map<std::wstring, Provider*> byName_;
};

}  // namespace oxymail

#endif  // OXYMAIL_EXTENDED_MAPI_H_
