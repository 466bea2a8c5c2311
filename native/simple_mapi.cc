#include "simple_mapi.h"

#include <windows.h>
#include <mapi.h>

#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "strings.h"

namespace oxymail {
namespace {

// Debian's mingw-w64 (v10) mapi.h has no wide Simple MAPI structs, and newer
// SDKs do: declare Microsoft's documented layout under our own names so both
// compile. The asserts pin it to the ANSI structs, which differ only in the
// character type of their string pointers.
struct OxyMapiRecipDescW {
  ULONG ulReserved;
  ULONG ulRecipClass;
  PWSTR lpszName;
  PWSTR lpszAddress;
  ULONG ulEIDSize;
  PVOID lpEntryID;
};

struct OxyMapiFileDescW {
  ULONG ulReserved;
  ULONG flFlags;
  ULONG nPosition;
  PWSTR lpszPathName;
  PWSTR lpszFileName;
  PVOID lpFileType;
};

struct OxyMapiMessageW {
  ULONG ulReserved;
  PWSTR lpszSubject;
  PWSTR lpszNoteText;
  PWSTR lpszMessageType;
  PWSTR lpszDateReceived;
  PWSTR lpszConversationID;
  FLAGS flFlags;
  OxyMapiRecipDescW* lpOriginator;
  ULONG nRecipCount;
  OxyMapiRecipDescW* lpRecips;
  ULONG nFileCount;
  OxyMapiFileDescW* lpFiles;
};

static_assert(sizeof(OxyMapiRecipDescW) == sizeof(MapiRecipDesc), "MapiRecipDescW layout");
static_assert(offsetof(OxyMapiRecipDescW, lpEntryID) == offsetof(MapiRecipDesc, lpEntryID),
              "MapiRecipDescW layout");
static_assert(sizeof(OxyMapiFileDescW) == sizeof(MapiFileDesc), "MapiFileDescW layout");
static_assert(offsetof(OxyMapiFileDescW, lpFileType) == offsetof(MapiFileDesc, lpFileType),
              "MapiFileDescW layout");
static_assert(sizeof(OxyMapiMessageW) == sizeof(MapiMessage), "MapiMessageW layout");
static_assert(offsetof(OxyMapiMessageW, flFlags) == offsetof(MapiMessage, flFlags),
              "MapiMessageW layout");
static_assert(offsetof(OxyMapiMessageW, lpFiles) == offsetof(MapiMessage, lpFiles),
              "MapiMessageW layout");

typedef ULONG(WINAPI* SendMailW)(LHANDLE, ULONG_PTR, OxyMapiMessageW*, FLAGS, ULONG);
typedef ULONG(WINAPI* SendMailA)(LHANDLE, ULONG_PTR, lpMapiMessage, FLAGS, ULONG);
typedef ULONG(WINAPI* Logon)(ULONG_PTR, LPSTR, LPSTR, FLAGS, ULONG, LPLHANDLE);
typedef ULONG(WINAPI* Logoff)(LHANDLE, ULONG_PTR, FLAGS, ULONG);

// FARPROC has no parameters; going through void* says the signature comes
// from Microsoft's documentation, not from the compiler (-Wcast-function-type).
template <typename F>
F Proc(HMODULE module, const char* name) {
  return reinterpret_cast<F>(reinterpret_cast<void*>(GetProcAddress(module, name)));
}

// Not in every mapi.h.
constexpr ULONG kPositionUnspecified = static_cast<ULONG>(-1);
constexpr ULONG kUnicodeNotSupported = 27;  // MAPI_E_UNICODE_NOT_SUPPORTED

// A mail client DLL stays loaded for the life of the process: Wine's and
// Windows' MAPI32 bind the provider on load, and Outlook's MAPI does not
// tolerate being unloaded and reloaded between sends.
HMODULE LoadOnce(const std::wstring& name, DWORD* error) {
  static std::mutex mutex;
  static std::map<std::wstring, HMODULE> loaded;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = loaded.find(name);
  if (it != loaded.end()) return it->second;
  HMODULE module = LoadLibraryW(name.c_str());
  if (module == nullptr) {
    *error = GetLastError();
    return nullptr;
  }
  loaded[name] = module;
  return module;
}

std::string ModulePath(HMODULE module, const std::string& fallback) {
  wchar_t buffer[MAX_PATH * 2];
  DWORD n = GetModuleFileNameW(module, buffer, static_cast<DWORD>(sizeof buffer / sizeof buffer[0]));
  if (n == 0 || n >= sizeof buffer / sizeof buffer[0]) return fallback;
  return WideToUtf8(std::wstring(buffer, n));
}

// How exact a string must stay in the ANSI code page: text may lose a
// character ('?'), a display file name gets '_' (a valid file-name
// character), but a path, an address or a logon name must not change:
// "Ｃ：＼" best-fitted to "C:\" would attach another file.
enum class Text { kLossy, kFileName, kExact };

// The wide and ANSI calls differ only in their structs and string type.
struct Wide {
  using Message = OxyMapiMessageW;
  using Recip = OxyMapiRecipDescW;
  using File = OxyMapiFileDescW;
  using String = std::wstring;
  static bool Convert(const std::string& utf8, Text, String* out) {
    *out = Utf8ToWide(utf8);
    return true;
  }
};

struct Ansi {
  using Message = MapiMessage;
  using Recip = MapiRecipDesc;
  using File = MapiFileDesc;
  using String = std::string;
  static bool Convert(const std::string& utf8, Text text, String* out) {
    return Utf8ToAnsi(utf8, out, text == Text::kFileName ? '_' : '?') || text != Text::kExact;
  }
};

// Builds the message and calls `send`; result gets the call's status. When an
// exact string cannot be converted, nothing is sent: result.call is
// "WideCharToMultiByte" and result.unrepresentable names the field.
// Every string stays alive in `text` while MAPI reads the pointers;
// reserve() up front so no pointer moves.
template <typename T, typename SendFn>
void SendAs(SendFn send, const char* call, LHANDLE session, const SimpleSendRequest& r,
            FLAGS flags, SimpleSendResult& result) {
  std::vector<typename T::String> text;
  text.reserve(2 + 2 * r.recipients.size() + 2 * r.attachments.size());
  std::string failed;
  auto keep = [&text, &failed](const std::string& utf8, Text kind, const std::string& field) {
    text.emplace_back();
    if (!T::Convert(utf8, kind, &text.back()) && failed.empty()) failed = field;
    return &text.back()[0];
  };
  std::vector<typename T::Recip> recips(r.recipients.size());
  for (size_t i = 0; i < r.recipients.size(); ++i) {
    const std::string at = "recipients[" + std::to_string(i) + "]";
    recips[i] = typename T::Recip{};
    recips[i].ulRecipClass = r.recipients[i].recipClass;
    recips[i].lpszName = keep(r.recipients[i].name, Text::kLossy, at + ".name");
    recips[i].lpszAddress = keep("SMTP:" + r.recipients[i].address, Text::kExact, at + ".address");
  }
  std::vector<typename T::File> files(r.attachments.size());
  for (size_t i = 0; i < r.attachments.size(); ++i) {
    const std::string at = "attachments[" + std::to_string(i) + "]";
    files[i] = typename T::File{};
    files[i].nPosition = kPositionUnspecified;
    files[i].lpszPathName = keep(r.attachments[i].path, Text::kExact, at + ".path");
    files[i].lpszFileName = keep(r.attachments[i].name, Text::kFileName, at + ".name");
  }
  typename T::Message message{};
  message.lpszSubject = keep(r.subject, Text::kLossy, "subject");
  message.lpszNoteText = keep(r.body, Text::kLossy, "body");
  if (!failed.empty()) {
    result.call = "WideCharToMultiByte";
    result.status = MAPI_E_FAILURE;
    result.unrepresentable = failed;
    return;
  }
  message.flFlags = r.readReceipt ? MAPI_RECEIPT_REQUESTED : 0;
  message.nRecipCount = static_cast<ULONG>(recips.size());
  message.lpRecips = recips.empty() ? nullptr : recips.data();
  message.nFileCount = static_cast<ULONG>(files.size());
  message.lpFiles = files.empty() ? nullptr : files.data();
  result.call = call;
  result.status = send(session, static_cast<ULONG_PTR>(r.uiParam), &message, flags, 0);
}

}  // namespace

SimpleSendResult SendSimple(const SimpleSendRequest& r) {
  SimpleSendResult result;
  const std::string dllName = r.dllPath.empty() ? std::string("MAPI32.DLL") : r.dllPath;
  result.dll = dllName;

  DWORD error = 0;
  HMODULE module = LoadOnce(Utf8ToWide(dllName), &error);
  if (module == nullptr) {
    result.status = MAPI_E_FAILURE;
    result.call = "LoadLibraryW";
    result.win32Error = error;
    return result;
  }
  result.dll = ModulePath(module, dllName);

  auto missing = [&result]() {
    result.win32Error = GetLastError();
    result.status = MAPI_E_FAILURE;
    result.call = "GetProcAddress";
    return result;
  };
  auto sendW = Proc<SendMailW>(module, "MAPISendMailW");
  auto sendA = Proc<SendMailA>(module, "MAPISendMail");
  if (sendW == nullptr && sendA == nullptr) return missing();
  result.unicode = sendW != nullptr;

  LHANDLE session = 0;
  Logoff logoff = nullptr;
  if (r.logon) {
    auto logon = Proc<Logon>(module, "MAPILogon");
    logoff = Proc<Logoff>(module, "MAPILogoff");
    if (logon == nullptr || logoff == nullptr) return missing();
    // Simple MAPI has no MAPILogonW: profile names go through the code page,
    // and must arrive unchanged (a best-fit name is another profile).
    std::string profile, password;
    const char* lossy = !Utf8ToAnsi(r.profile, &profile) ? "profile"
                        : !Utf8ToAnsi(r.password, &password) ? "password"
                                                             : nullptr;
    if (lossy != nullptr) {
      result.status = MAPI_E_FAILURE;
      result.call = "WideCharToMultiByte";
      result.unrepresentable = lossy;
      return result;
    }
    FLAGS flags = MAPI_NEW_SESSION | (r.logonUI ? MAPI_LOGON_UI : 0);
    ULONG status = logon(static_cast<ULONG_PTR>(r.uiParam), r.hasProfile ? &profile[0] : nullptr,
                         r.hasPassword ? &password[0] : nullptr, flags, 0, &session);
    if (status != SUCCESS_SUCCESS) {
      result.status = status;
      result.call = "MAPILogon";
      return result;
    }
  }

  FLAGS flags = (r.logonUI ? MAPI_LOGON_UI : 0) | (r.dialog ? MAPI_DIALOG : 0);
  if (sendW != nullptr) {
    SendAs<Wide>(sendW, "MAPISendMailW", session, r, flags, result);
  }
  // W is preferred. The lossy ANSI call is for a client that lacks it
  // (pre-Windows 8 MAPI32, older clients loaded directly) or exports it and
  // refuses it (some clients' W is a stub answering "not supported").
  if (sendA != nullptr && (sendW == nullptr || result.status == MAPI_E_NOT_SUPPORTED ||
                           result.status == kUnicodeNotSupported)) {
    result.unicode = false;
    SendAs<Ansi>(sendA, "MAPISendMail", session, r, flags, result);
  }
  // A logoff failure changes nothing for the caller: the mail is already
  // sent or not.
  if (logoff != nullptr) logoff(session, static_cast<ULONG_PTR>(r.uiParam), 0, 0);
  return result;
}

}  // namespace oxymail
