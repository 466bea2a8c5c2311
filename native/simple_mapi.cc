#include "simple_mapi.h"

#include <windows.h>
#include <mapi.h>

#include <cstddef>
#include <map>
#include <mutex>

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

// The wide and ANSI calls differ only in their structs and string type.
struct Wide {
  using Message = OxyMapiMessageW;
  using Recip = OxyMapiRecipDescW;
  using File = OxyMapiFileDescW;
  using String = std::wstring;
  static String Convert(const std::string& utf8) { return Utf8ToWide(utf8); }
};

struct Ansi {
  using Message = MapiMessage;
  using Recip = MapiRecipDesc;
  using File = MapiFileDesc;
  using String = std::string;
  static String Convert(const std::string& utf8) { return Utf8ToAnsi(utf8); }
};

// Every string stays alive in `text` while MAPI reads the pointers;
// reserve() up front so no pointer moves.
template <typename T, typename SendFn>
ULONG SendAs(SendFn send, LHANDLE session, const SimpleSendRequest& r, FLAGS flags) {
  std::vector<typename T::String> text;
  text.reserve(2 + 2 * r.recipients.size() + 2 * r.attachments.size());
  auto keep = [&text](const std::string& utf8) {
    text.push_back(T::Convert(utf8));
    return &text.back()[0];
  };
  std::vector<typename T::Recip> recips(r.recipients.size());
  for (size_t i = 0; i < r.recipients.size(); ++i) {
    recips[i] = typename T::Recip{};
    recips[i].ulRecipClass = r.recipients[i].recipClass;
    recips[i].lpszName = keep(r.recipients[i].name);
    recips[i].lpszAddress = keep("SMTP:" + r.recipients[i].address);
  }
  std::vector<typename T::File> files(r.attachments.size());
  for (size_t i = 0; i < r.attachments.size(); ++i) {
    files[i] = typename T::File{};
    files[i].nPosition = kPositionUnspecified;
    files[i].lpszPathName = keep(r.attachments[i].path);
    files[i].lpszFileName = keep(r.attachments[i].name);
  }
  typename T::Message message{};
  message.lpszSubject = keep(r.subject);
  message.lpszNoteText = keep(r.body);
  message.flFlags = r.readReceipt ? MAPI_RECEIPT_REQUESTED : 0;
  message.nRecipCount = static_cast<ULONG>(recips.size());
  message.lpRecips = recips.empty() ? nullptr : recips.data();
  message.nFileCount = static_cast<ULONG>(files.size());
  message.lpFiles = files.empty() ? nullptr : files.data();
  return send(session, static_cast<ULONG_PTR>(r.uiParam), &message, flags, 0);
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
  // W is preferred; a client that lacks it (pre-Windows 8 MAPI32, older
  // clients loaded directly) gets the lossy ANSI call.
  auto sendW = Proc<SendMailW>(module, "MAPISendMailW");
  auto sendA = sendW ? nullptr : Proc<SendMailA>(module, "MAPISendMail");
  if (sendW == nullptr && sendA == nullptr) return missing();
  result.unicode = sendW != nullptr;

  LHANDLE session = 0;
  Logoff logoff = nullptr;
  if (r.logon) {
    auto logon = Proc<Logon>(module, "MAPILogon");
    logoff = Proc<Logoff>(module, "MAPILogoff");
    if (logon == nullptr || logoff == nullptr) return missing();
    // Simple MAPI has no MAPILogonW: profile names go through the code page.
    std::string profile = Utf8ToAnsi(r.profile);
    std::string password = Utf8ToAnsi(r.password);
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
    result.call = "MAPISendMailW";
    result.status = SendAs<Wide>(sendW, session, r, flags);
  } else {
    result.call = "MAPISendMail";
    result.status = SendAs<Ansi>(sendA, session, r, flags);
  }
  // A logoff failure changes nothing for the caller: the mail is already
  // sent or not.
  if (logoff != nullptr) logoff(session, static_cast<ULONG_PTR>(r.uiParam), 0, 0);
  return result;
}

}  // namespace oxymail
