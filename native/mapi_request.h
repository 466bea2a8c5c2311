// MAPI requests (Simple, Extended, profile list) and their results, as plain
// C++ values. No Node-API types here: addon.cc fills a request from JS, the
// MAPI thread runs it, and the result travels back as a copy.
#ifndef OXYMAIL_MAPI_REQUEST_H_
#define OXYMAIL_MAPI_REQUEST_H_

#include <cstdint>
#include <string>
#include <vector>

namespace oxymail {

// All strings are UTF-8 as received from JavaScript.
struct MapiRecipient {
  uint32_t recipClass = 1;  // MAPI_TO 1, MAPI_CC 2, MAPI_BCC 3
  std::string name;
  std::string address;  // without the "SMTP:" prefix
};

struct MapiAttachment {
  std::string path;  // full Windows path of an existing, closed file
  std::string name;  // display name shown by the mail client
};

struct SimpleSendRequest {
  std::string dllPath;  // empty: "MAPI32.DLL"
  bool logon = false;   // true when profile or password was given
  bool hasProfile = false;
  bool hasPassword = false;
  std::string profile;
  std::string password;
  bool logonUI = false;
  bool dialog = false;
  uint64_t uiParam = 0;
  std::string subject;
  std::string body;
  bool readReceipt = false;
  std::vector<MapiRecipient> recipients;
  std::vector<MapiAttachment> attachments;
};

struct SimpleSendResult {
  uint32_t status = 0;     // MAPI code of the failing call, 0 on success
  // LoadLibraryW, GetProcAddress, WideCharToMultiByte, MAPILogon,
  // MAPISendMailW, MAPISendMail (after MAPISendMailW when W refused)
  std::string call;
  bool unicode = false;    // the last send call was MAPISendMailW
  uint32_t win32Error = 0; // GetLastError() after LoadLibraryW/GetProcAddress failed
  std::string dll;         // UTF-8 path of the module that was loaded (or asked for)
  // With call "WideCharToMultiByte": the request field the ANSI code page
  // cannot hold exactly ("attachments[0].path", "recipients[1].address",
  // "profile", "password"); nothing was sent.
  std::string unrepresentable;
};

// Extended MAPI: MAPILogonEx on a cached session, default store, Outbox,
// SubmitMessage.
struct ExtendedSendRequest {
  std::string dllPath;  // empty: "MAPI32.DLL"
  bool hasProfile = false;  // false: MAPI_USE_DEFAULT
  bool hasPassword = false; // false: NULL password
  std::string profile;
  std::string password;
  bool logonUI = false;
  uint64_t uiParam = 0;
  std::string subject;
  std::string body;
  uint32_t importance = 1;  // PR_IMPORTANCE: 0 low, 1 normal, 2 high
  bool readReceipt = false;
  bool deliveryReport = false;
  bool saveToSent = true;   // PR_SENTMAIL_ENTRYID, else PR_DELETE_AFTER_SUBMIT
  std::vector<MapiRecipient> recipients;
  std::vector<MapiAttachment> attachments;
};

struct ExtendedSendResult {
  uint32_t hresult = 0;      // HRESULT of the failing call, 0 on success
  std::string call;          // the failing call, or the last one made
  bool savedToSent = false;  // PR_SENTMAIL_ENTRYID was set
  std::string dll;
};

struct ProfileListRequest {
  std::string dllPath;  // empty: "MAPI32.DLL"
};

struct MapiProfile {
  std::string name;
  bool isDefault = false;
};

struct ProfileListResult {
  uint32_t hresult = 0;
  std::string call;
  std::string dll;  // as in ExtendedSendResult
  std::vector<MapiProfile> profiles;
};

}  // namespace oxymail

#endif  // OXYMAIL_MAPI_REQUEST_H_
