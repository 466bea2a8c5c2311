#include "extended_mapi.h"

// INITGUID first: every GUID the headers below declare (IID_IStream, and the
// MAPI IIDs picked with USES_IID_*) is defined here as a selectany constant,
// so neither uuid.lib nor a MAPI import library is needed.
#include <initguid.h>
#define USES_IID_IMAPIFolder
#include <windows.h>
#include <mapix.h>
#include <mapitags.h>
#include <mapiguid.h>

#include <cstring>
#include <vector>

#include "strings.h"

namespace oxymail {
namespace {

// MAPI32's utility exports are stdcall: HrQueryAllRows@24 etc., and the
// 64-bit Wine and Windows MAPI32 keep those decorated names as well.
typedef HRESULT(WINAPI* LogonExFn)(ULONG_PTR, LPWSTR, LPWSTR, ULONG, LPMAPISESSION*);
typedef HRESULT(WINAPI* QueryAllRowsFn)(LPMAPITABLE, LPSPropTagArray, LPSRestriction,
                                        LPSSortOrderSet, LONG, LPSRowSet*);
typedef void(WINAPI* FreeProwsFn)(LPSRowSet);

constexpr size_t kChunk = 64 * 1024;
// Not constexpr: in the Windows SDK HRESULT_FROM_WIN32 is a FORCEINLINE function (MSVC C2131).
const HRESULT kProcNotFound = __HRESULT_FROM_WIN32(ERROR_PROC_NOT_FOUND);

template <typename F>
F Proc(HMODULE module, const char* decorated, const char* plain) {
  FARPROC p = decorated != nullptr ? GetProcAddress(module, decorated) : nullptr;
  if (p == nullptr) p = GetProcAddress(module, plain);
  return reinterpret_cast<F>(reinterpret_cast<void*>(p));
}

std::string ModulePath(HMODULE module, const std::string& fallback) {
  wchar_t buffer[MAX_PATH * 2];
  DWORD n = GetModuleFileNameW(module, buffer, static_cast<DWORD>(sizeof buffer / sizeof buffer[0]));
  if (n == 0 || n >= sizeof buffer / sizeof buffer[0]) return fallback;
  return WideToUtf8(std::wstring(buffer, n));
}

// Owns one reference; released when the holder goes out of scope, so every
// return path (failures half way included) releases what it opened, in the
// reverse order of the declarations.
template <typename T>
class Ref {
 public:
  Ref() = default;
  Ref(const Ref&) = delete;
  Ref& operator=(const Ref&) = delete;
  ~Ref() { Reset(); }
  T** Out() { Reset(); return &p_; }
  LPUNKNOWN* OutUnknown() { return reinterpret_cast<LPUNKNOWN*>(Out()); }
  T* operator->() const { return p_; }
  T* get() const { return p_; }
  void Reset() {
    if (p_ != nullptr) p_->Release();
    p_ = nullptr;
  }

 private:
  T* p_ = nullptr;
};

class Handle {
 public:
  explicit Handle(HANDLE h) : h_(h) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { if (h_ != INVALID_HANDLE_VALUE) CloseHandle(h_); }
  HANDLE get() const { return h_; }

 private:
  HANDLE h_;
};

const SPropValue* Find(const SPropValue* props, ULONG count, ULONG tag) {
  for (ULONG i = 0; i < count; ++i)
    if (props[i].ulPropTag == tag) return &props[i];
  return nullptr;
}

// The error a GetProps/QueryRows column carries when the value is missing.
HRESULT MissingProp(const SPropValue* props, ULONG count, ULONG tag) {
  const SPropValue* e = Find(props, count, CHANGE_PROP_TYPE(tag, PT_ERROR));
  return e != nullptr && FAILED(e->Value.err) ? e->Value.err : MAPI_E_NOT_FOUND;
}

SPropValue Prop(ULONG tag) {
  SPropValue v;
  std::memset(&v, 0, sizeof v);
  v.ulPropTag = tag;
  return v;
}

SPropValue Text(ULONG tag, std::wstring& text) {
  SPropValue v = Prop(tag);
  v.Value.lpszW = &text[0];
  return v;
}

SPropValue Long(ULONG tag, LONG value) {
  SPropValue v = Prop(tag);
  v.Value.l = value;
  return v;
}

SPropValue Bool(ULONG tag, bool value) {
  SPropValue v = Prop(tag);
  v.Value.b = value ? 1 : 0;
  return v;
}

}  // namespace

struct ExtendedMapi::Provider {
  struct Session {
    IMAPISession* session = nullptr;
    bool hasPassword = false;
    std::string password;
  };

  HMODULE module = nullptr;
  std::string path;
  LPMAPIINITIALIZE initialize = nullptr;
  LPMAPIUNINITIALIZE uninitialize = nullptr;
  LogonExFn logonEx = nullptr;
  LPMAPIADMINPROFILES adminProfiles = nullptr;
  LPALLOCATEBUFFER allocateBuffer = nullptr;
  LPALLOCATEMORE allocateMore = nullptr;
  LPFREEBUFFER freeBuffer = nullptr;
  QueryAllRowsFn queryAllRows = nullptr;
  FreeProwsFn freeProws = nullptr;
  bool initialized = false;
  // Keyed by profile name ("" + a flag for MAPI_USE_DEFAULT).
  std::map<std::string, Session> sessions;

  void Drop(const std::string& key) {
    auto it = sessions.find(key);
    if (it == sessions.end()) return;
    it->second.session->Logoff(0, 0, 0);
    it->second.session->Release();
    sessions.erase(it);
  }
};

namespace {

using Provider = ExtendedMapi::Provider;

// Rows from HrQueryAllRows, freed with MAPI32's FreeProws.
class Rows {
 public:
  explicit Rows(FreeProwsFn free) : free_(free) {}
  Rows(const Rows&) = delete;
  Rows& operator=(const Rows&) = delete;
  ~Rows() { if (rows_ != nullptr) free_(rows_); }
  LPSRowSet* Out() { return &rows_; }
  LPSRowSet get() const { return rows_; }

 private:
  FreeProwsFn free_;
  LPSRowSet rows_ = nullptr;
};

// A MAPIAllocateBuffer block (and whatever MAPIAllocateMore linked to it).
template <typename T>
class Buffer {
 public:
  explicit Buffer(LPFREEBUFFER free) : free_(free) {}
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer() { if (p_ != nullptr) free_(p_); }
  T** Out() { return &p_; }
  T* get() const { return p_; }

 private:
  LPFREEBUFFER free_;
  T* p_ = nullptr;
};

// ModifyRecipients may reallocate each entry's rgPropVals, so the list and
// every rgPropVals come from MAPIAllocateBuffer (strings from
// MAPIAllocateMore) and are freed entry by entry, as FreePadrlist does.
class RecipientList {
 public:
  explicit RecipientList(const Provider& p) : p_(p) {}
  RecipientList(const RecipientList&) = delete;
  RecipientList& operator=(const RecipientList&) = delete;
  ~RecipientList() {
    if (list_ == nullptr) return;
    for (ULONG i = 0; i < list_->cEntries; ++i)
      if (list_->aEntries[i].rgPropVals != nullptr) p_.freeBuffer(list_->aEntries[i].rgPropVals);
    p_.freeBuffer(list_);
  }

  // `ids` holds one entry ID per recipient, or none (the rows then have no
  // PR_ENTRYID). Each is copied into its row.
  HRESULT Build(const std::vector<MapiRecipient>& recipients, const std::vector<SBinary>& ids) {
    ULONG n = static_cast<ULONG>(recipients.size());
    const ULONG values = ids.empty() ? 4 : 5;
    HRESULT hr = p_.allocateBuffer(CbNewADRLIST(n), reinterpret_cast<LPVOID*>(&list_));
    if (FAILED(hr)) return hr;
    std::memset(list_, 0, CbNewADRLIST(n));
    list_->cEntries = n;
    for (ULONG i = 0; i < n; ++i) {
      const MapiRecipient& r = recipients[i];
      LPSPropValue props = nullptr;
      hr = p_.allocateBuffer(values * sizeof(SPropValue), reinterpret_cast<LPVOID*>(&props));
      if (FAILED(hr)) return hr;
      std::memset(props, 0, values * sizeof(SPropValue));
      list_->aEntries[i].rgPropVals = props;
      list_->aEntries[i].cValues = values;
      props[0].ulPropTag = PR_RECIPIENT_TYPE;
      props[0].Value.l = static_cast<LONG>(r.recipClass);  // MAPI_TO/CC/BCC = 1/2/3
      const std::string* text[3] = {&r.name, &r.address, nullptr};
      const ULONG tags[3] = {PR_DISPLAY_NAME_W, PR_EMAIL_ADDRESS_W, PR_ADDRTYPE_W};
      for (int k = 0; k < 3; ++k) {
        std::wstring w = text[k] != nullptr ? Utf8ToWide(*text[k]) : std::wstring(L"SMTP");
        LPVOID copy = nullptr;
        hr = p_.allocateMore(static_cast<ULONG>((w.size() + 1) * sizeof(wchar_t)), props, &copy);
        if (FAILED(hr)) return hr;
        std::memcpy(copy, w.c_str(), (w.size() + 1) * sizeof(wchar_t));
        props[k + 1].ulPropTag = tags[k];
        props[k + 1].Value.lpszW = static_cast<LPWSTR>(copy);
      }
      if (!ids.empty()) {
        hr = CopyBinary(ids[i], props, &props[4]);
        if (FAILED(hr)) return hr;
      }
    }
    return S_OK;
  }

  LPADRLIST get() const { return list_; }

 private:
  HRESULT CopyBinary(const SBinary& id, LPSPropValue base, LPSPropValue out) {
    LPVOID copy = nullptr;
    HRESULT hr = p_.allocateMore(id.cb, base, &copy);
    if (FAILED(hr)) return hr;
    std::memcpy(copy, id.lpb, id.cb);
    out->ulPropTag = PR_ENTRYID;
    out->Value.bin.cb = id.cb;
    out->Value.bin.lpb = static_cast<LPBYTE>(copy);
    return S_OK;
  }

  const Provider& p_;
  LPADRLIST list_ = nullptr;
};

// One-off entry IDs from IAddrBook::CreateOneOff, in recipient order, each a
// MAPIAllocateBuffer block freed with MAPIFreeBuffer.
class OneOffIds {
 public:
  explicit OneOffIds(LPFREEBUFFER free) : free_(free) {}
  OneOffIds(const OneOffIds&) = delete;
  OneOffIds& operator=(const OneOffIds&) = delete;
  ~OneOffIds() { Clear(); }
  void Reserve(size_t n) { ids_.reserve(n); }  // so Add cannot throw with a block in hand
  void Add(ULONG cb, LPENTRYID id) { ids_.push_back(SBinary{cb, reinterpret_cast<LPBYTE>(id)}); }
  void Clear() {
    for (const SBinary& id : ids_) free_(id.lpb);
    ids_.clear();
  }
  const std::vector<SBinary>& get() const { return ids_; }

 private:
  LPFREEBUFFER free_;
  std::vector<SBinary> ids_;
};

// Notes each call in result.call (so a success ends with the last call made)
// and keeps the HRESULT of the one that failed.
struct Step {
  ExtendedSendResult& result;
  bool operator()(HRESULT hr, const char* call) {
    result.call = call;
    if (SUCCEEDED(hr)) return true;
    result.hresult = static_cast<uint32_t>(hr);
    return false;
  }
};

// An address book, or a CreateOneOff, that the provider does not implement:
// the rows then go without PR_ENTRYID, only the address (as before entry
// IDs), rather than failing a send such a provider may accept. From
// OpenAddressBook, MAPI_E_CALL_FAILED counts too: minimal providers answer
// an unimplemented method with it, and by then logon and store worked, so it
// is not Outlook's bitness failure. CreateOneOff is MAPI's own code on a real
// MAPI32: there, only "not supported" falls back.
bool NoAddressBook(HRESULT hr) {
  return hr == MAPI_E_NO_SUPPORT || hr == E_NOTIMPL || hr == MAPI_E_CALL_FAILED;
}
bool NoOneOff(HRESULT hr) { return hr == MAPI_E_NO_SUPPORT || hr == E_NOTIMPL; }

// Outlook submits a recipient row as is only when it has a PR_ENTRYID; a row
// with just the SMTP address may stay unresolved in the Outbox. So each
// recipient gets a one-off entry ID (display name, "SMTP", address) from the
// session's address book, opened once per send and released before return.
// `ids` is left empty when the provider supports neither.
bool MakeOneOffs(IMAPISession* session, const std::vector<MapiRecipient>& recipients,
                 OneOffIds& ids, Step& step) {
  Ref<IAddrBook> book;
  HRESULT hr = session->OpenAddressBook(0, nullptr, AB_NO_DIALOG, book.Out());
  if (NoAddressBook(hr) || (SUCCEEDED(hr) && book.get() == nullptr)) return true;
  // MAPI_W_ERRORS_RETURNED (a success code) when some provider failed to load.
  if (!step(hr, "IMAPISession::OpenAddressBook")) return false;
  ids.Reserve(recipients.size());
  std::wstring type = L"SMTP";
  for (const MapiRecipient& r : recipients) {
    std::wstring name = Utf8ToWide(r.name);
    std::wstring address = Utf8ToWide(r.address);
    ULONG cb = 0;
    LPENTRYID id = nullptr;
    hr = book->CreateOneOff(&name[0], &type[0], &address[0],
                            MAPI_UNICODE | MAPI_SEND_NO_RICH_INFO, &cb, &id);
    if (SUCCEEDED(hr) && id != nullptr) ids.Add(cb, id);
    if (NoOneOff(hr) || (SUCCEEDED(hr) && id == nullptr)) {
      ids.Clear();  // all rows alike: none has an entry ID
      return true;
    }
    if (!step(hr, "IAddrBook::CreateOneOff")) return false;
  }
  return true;
}

bool AddRecipients(const Provider& p, IMAPISession* session, IMessage* message,
                   const std::vector<MapiRecipient>& recipients, Step& step) {
  OneOffIds ids(p.freeBuffer);
  if (!MakeOneOffs(session, recipients, ids, step)) return false;
  RecipientList list(p);
  if (!step(list.Build(recipients, ids.get()), "MAPIAllocateBuffer")) return false;
  return step(message->ModifyRecipients(MODRECIP_ADD, list.get()), "IMessage::ModifyRecipients");
}

bool StreamFile(HANDLE file, IStream* stream, std::vector<char>& chunk, Step& step) {
  for (;;) {
    DWORD read = 0;
    if (!ReadFile(file, chunk.data(), static_cast<DWORD>(chunk.size()), &read, nullptr))
      return step(HRESULT_FROM_WIN32(GetLastError()), "ReadFile");
    if (read == 0) return true;
    ULONG written = 0;
    HRESULT hr = stream->Write(chunk.data(), read, &written);
    if (SUCCEEDED(hr) && written != read) hr = STG_E_WRITEFAULT;
    if (!step(hr, "IStream::Write")) return false;
  }
}

bool AddAttachment(IMessage* message, const MapiAttachment& a, std::vector<char>& chunk,
                   Step& step) {
  // Opened first: a missing file must not leave a half-made attachment.
  std::wstring path = Utf8ToWide(a.path);
  Handle file(CreateFileW(path.c_str(), GENERIC_READ, FILE_SHARE_READ, nullptr, OPEN_EXISTING,
                          FILE_FLAG_SEQUENTIAL_SCAN, nullptr));
  if (file.get() == INVALID_HANDLE_VALUE)
    return step(HRESULT_FROM_WIN32(GetLastError()), "CreateFileW");
  Ref<IAttach> attach;
  ULONG number = 0;
  if (!step(message->CreateAttach(nullptr, 0, &number, attach.Out()), "IMessage::CreateAttach"))
    return false;
  std::wstring name = Utf8ToWide(a.name);
  SPropValue props[] = {
      Long(PR_ATTACH_METHOD, ATTACH_BY_VALUE),
      Long(PR_RENDERING_POSITION, -1),
      Text(PR_ATTACH_LONG_FILENAME_W, name),
  };
  if (!step(attach->SetProps(3, props, nullptr), "IAttach::SetProps")) return false;
  Ref<IStream> stream;
  if (!step(attach->OpenProperty(PR_ATTACH_DATA_BIN, &IID_IStream, 0, MAPI_MODIFY | MAPI_CREATE,
                                 stream.OutUnknown()),
            "IAttach::OpenProperty"))
    return false;
  if (!StreamFile(file.get(), stream.get(), chunk, step)) return false;
  if (!step(stream->Commit(STGC_DEFAULT), "IStream::Commit")) return false;
  stream.Reset();
  return step(attach->SaveChanges(0), "IAttach::SaveChanges");
}

// Default store -> Outbox -> message -> SubmitMessage on a logged-on session.
bool SendOn(const Provider& p, IMAPISession* session, const ExtendedSendRequest& r,
            ExtendedSendResult& result) {
  Step step{result};
  ULONG_PTR ui = static_cast<ULONG_PTR>(r.uiParam);

  Ref<IMAPITable> table;
  if (!step(session->GetMsgStoresTable(0, table.Out()), "IMAPISession::GetMsgStoresTable"))
    return false;
  SizedSPropTagArray(2, storeColumns) = {2, {PR_ENTRYID, PR_DEFAULT_STORE}};
  Rows rows(p.freeProws);
  if (!step(p.queryAllRows(table.get(), reinterpret_cast<LPSPropTagArray>(&storeColumns), nullptr,
                           nullptr, 0, rows.Out()),
            "HrQueryAllRows"))
    return false;
  const SPropValue* storeId = nullptr;
  for (ULONG i = 0; rows.get() != nullptr && i < rows.get()->cRows; ++i) {
    const SRow& row = rows.get()->aRow[i];
    const SPropValue* isDefault = Find(row.lpProps, row.cValues, PR_DEFAULT_STORE);
    if (isDefault != nullptr && isDefault->Value.b) {
      storeId = Find(row.lpProps, row.cValues, PR_ENTRYID);
      break;
    }
  }
  // No default store (or one without an entry ID): the profile has no mailbox.
  if (storeId == nullptr) return step(MAPI_E_NOT_FOUND, "HrQueryAllRows");

  Ref<IMsgStore> store;
  if (!step(session->OpenMsgStore(ui, storeId->Value.bin.cb,
                                  reinterpret_cast<LPENTRYID>(storeId->Value.bin.lpb), nullptr,
                                  MDB_WRITE | MDB_NO_DIALOG | MAPI_BEST_ACCESS, store.Out()),
            "IMAPISession::OpenMsgStore"))
    return false;

  SizedSPropTagArray(2, folderTags) = {2, {PR_IPM_OUTBOX_ENTRYID, PR_IPM_SENTMAIL_ENTRYID}};
  Buffer<SPropValue> folders(p.freeBuffer);
  ULONG count = 0;
  // MAPI_W_ERRORS_RETURNED (a success code) when one of them is missing.
  if (!step(store->GetProps(reinterpret_cast<LPSPropTagArray>(&folderTags), 0, &count,
                            folders.Out()),
            "IMsgStore::GetProps"))
    return false;
  const SPropValue* outbox = Find(folders.get(), count, PR_IPM_OUTBOX_ENTRYID);
  const SPropValue* sent = Find(folders.get(), count, PR_IPM_SENTMAIL_ENTRYID);
  if (outbox == nullptr)
    return step(MissingProp(folders.get(), count, PR_IPM_OUTBOX_ENTRYID), "IMsgStore::GetProps");

  Ref<IMAPIFolder> folder;
  ULONG type = 0;
  if (!step(store->OpenEntry(outbox->Value.bin.cb, reinterpret_cast<LPENTRYID>(outbox->Value.bin.lpb),
                             &IID_IMAPIFolder, MAPI_MODIFY | MAPI_BEST_ACCESS, &type,
                             folder.OutUnknown()),
            "IMsgStore::OpenEntry(Outbox)"))
    return false;
  Ref<IMessage> message;
  if (!step(folder->CreateMessage(nullptr, 0, message.Out()), "IMAPIFolder::CreateMessage"))
    return false;

  std::wstring messageClass = L"IPM.Note";
  std::wstring subject = Utf8ToWide(r.subject);
  std::wstring body = Utf8ToWide(r.body);
  std::vector<SPropValue> props = {
      Text(PR_MESSAGE_CLASS_W, messageClass),
      Text(PR_SUBJECT_W, subject),
      Text(PR_BODY_W, body),
      Long(PR_IMPORTANCE, static_cast<LONG>(r.importance)),
      Bool(PR_READ_RECEIPT_REQUESTED, r.readReceipt),
      Bool(PR_ORIGINATOR_DELIVERY_REPORT_REQUESTED, r.deliveryReport),
  };
  // Never both: with PR_DELETE_AFTER_SUBMIT the copy in Sent Items would be
  // deleted too. A store without Sent Items falls back to deleting.
  if (r.saveToSent && sent != nullptr) {
    SPropValue v = Prop(PR_SENTMAIL_ENTRYID);
    v.Value.bin = sent->Value.bin;
    props.push_back(v);
    result.savedToSent = true;
  } else {
    props.push_back(Bool(PR_DELETE_AFTER_SUBMIT, true));
  }
  if (!step(message->SetProps(static_cast<ULONG>(props.size()), props.data(), nullptr),
            "IMessage::SetProps"))
    return false;

  if (!r.recipients.empty() && !AddRecipients(p, session, message.get(), r.recipients, step))
    return false;

  std::vector<char> chunk;
  if (!r.attachments.empty()) chunk.resize(kChunk);
  for (const MapiAttachment& a : r.attachments)
    if (!AddAttachment(message.get(), a, chunk, step)) return false;

  return step(message->SubmitMessage(0), "IMessage::SubmitMessage");
}

}  // namespace

ExtendedMapi::ExtendedMapi() = default;
ExtendedMapi::~ExtendedMapi() = default;

ExtendedMapi::Provider* ExtendedMapi::Get(const std::string& dllPath, std::string* dll,
                                          uint32_t* hresult, std::string* call) {
  const std::string name = dllPath.empty() ? std::string("MAPI32.DLL") : dllPath;
  *dll = name;
  std::wstring key = Utf8ToWide(name);
  auto it = byName_.find(key);
  if (it == byName_.end()) {
    // Never freed: Outlook's MAPI does not survive being unloaded, and
    // MAPIUninitialize must run before any unload anyway.
    HMODULE module = LoadLibraryW(key.c_str());
    if (module == nullptr) {
      *hresult = static_cast<uint32_t>(HRESULT_FROM_WIN32(GetLastError()));
      *call = "LoadLibraryW";
      return nullptr;
    }
    Provider* found = nullptr;
    for (auto& known : providers_)
      if (known->module == module) found = known.get();
    if (found == nullptr) {
      auto p = std::make_unique<Provider>();
      p->module = module;
      p->path = ModulePath(module, name);
      p->initialize = Proc<LPMAPIINITIALIZE>(module, nullptr, "MAPIInitialize");
      p->uninitialize = Proc<LPMAPIUNINITIALIZE>(module, nullptr, "MAPIUninitialize");
      p->logonEx = Proc<LogonExFn>(module, nullptr, "MAPILogonEx");
      p->adminProfiles = Proc<LPMAPIADMINPROFILES>(module, nullptr, "MAPIAdminProfiles");
      p->allocateBuffer = Proc<LPALLOCATEBUFFER>(module, "MAPIAllocateBuffer@8", "MAPIAllocateBuffer");
      p->allocateMore = Proc<LPALLOCATEMORE>(module, "MAPIAllocateMore@12", "MAPIAllocateMore");
      p->freeBuffer = Proc<LPFREEBUFFER>(module, "MAPIFreeBuffer@4", "MAPIFreeBuffer");
      p->queryAllRows = Proc<QueryAllRowsFn>(module, "HrQueryAllRows@24", "HrQueryAllRows");
      p->freeProws = Proc<FreeProwsFn>(module, "FreeProws@4", "FreeProws");
      found = p.get();
      providers_.push_back(std::move(p));
    }
    it = byName_.emplace(key, found).first;
  }
  Provider* p = it->second;
  *dll = p->path;
  if (p->initialize == nullptr || p->uninitialize == nullptr || p->freeBuffer == nullptr ||
      p->queryAllRows == nullptr || p->freeProws == nullptr) {
    *hresult = static_cast<uint32_t>(kProcNotFound);
    *call = "GetProcAddress";
    return nullptr;
  }
  if (!p->initialized) {
    MAPIINIT_0 init = {MAPI_INIT_VERSION, MAPI_MULTITHREAD_NOTIFICATIONS};
    HRESULT hr = p->initialize(&init);
    if (FAILED(hr)) {
      *hresult = static_cast<uint32_t>(hr);
      *call = "MAPIInitialize";
      return nullptr;
    }
    p->initialized = true;
  }
  return p;
}

ExtendedSendResult ExtendedMapi::Send(const ExtendedSendRequest& r) {
  ExtendedSendResult result;
  Provider* p = Get(r.dllPath, &result.dll, &result.hresult, &result.call);
  if (p == nullptr) return result;
  if (p->logonEx == nullptr || p->allocateBuffer == nullptr || p->allocateMore == nullptr) {
    result.hresult = static_cast<uint32_t>(kProcNotFound);
    result.call = "GetProcAddress";
    return result;
  }

  const std::string key = r.hasProfile ? "profile:" + r.profile : std::string("default");
  auto cached = p->sessions.find(key);
  if (cached != p->sessions.end() &&
      (cached->second.hasPassword != r.hasPassword || cached->second.password != r.password)) {
    p->Drop(key);  // another password: it must be checked again
    cached = p->sessions.end();
  }
  if (cached == p->sessions.end()) {
    std::wstring profile = Utf8ToWide(r.profile);
    std::wstring password = Utf8ToWide(r.password);
    ULONG flags = MAPI_EXTENDED | MAPI_UNICODE | MAPI_NEW_SESSION |
                  (r.logonUI ? MAPI_LOGON_UI : 0) |
                  (r.hasProfile ? MAPI_EXPLICIT_PROFILE : MAPI_USE_DEFAULT);
    IMAPISession* session = nullptr;
    HRESULT hr = p->logonEx(static_cast<ULONG_PTR>(r.uiParam), r.hasProfile ? &profile[0] : nullptr,
                            r.hasPassword ? &password[0] : nullptr, flags, &session);
    result.call = "MAPILogonEx";
    if (FAILED(hr) || session == nullptr) {
      result.hresult = static_cast<uint32_t>(FAILED(hr) ? hr : MAPI_E_CALL_FAILED);
      return result;
    }
    Provider::Session entry;
    entry.session = session;
    entry.hasPassword = r.hasPassword;
    entry.password = r.password;
    cached = p->sessions.emplace(key, std::move(entry)).first;
  }
  // After any failure the session may be the cause (Outlook restarted, the
  // store went offline): the next send logs on again.
  bool sent = false;
  try {
    sent = SendOn(*p, cached->second.session, r, result);
  } catch (...) {  // bad_alloc: everything opened is already released
    p->Drop(key);
    throw;
  }
  if (!sent) {
    p->Drop(key);
    result.savedToSent = false;  // nothing was sent, so nothing lands in Sent Items
  }
  return result;
}

ProfileListResult ExtendedMapi::ListProfiles(const ProfileListRequest& r) {
  ProfileListResult result;
  Provider* p = Get(r.dllPath, &result.dll, &result.hresult, &result.call);
  if (p == nullptr) return result;
  if (p->adminProfiles == nullptr) {
    result.hresult = static_cast<uint32_t>(kProcNotFound);
    result.call = "GetProcAddress";
    return result;
  }
  auto fail = [&result](HRESULT hr, const char* call) {
    result.call = call;
    if (SUCCEEDED(hr)) return false;
    result.hresult = static_cast<uint32_t>(hr);
    return true;
  };
  Ref<IProfAdmin> admin;
  if (fail(p->adminProfiles(0, admin.Out()), "MAPIAdminProfiles")) return result;
  Ref<IMAPITable> table;
  if (fail(admin->GetProfileTable(0, table.Out()), "IProfAdmin::GetProfileTable")) return result;
  // Outlook's profile table may only have the ANSI name: ask for both.
  SizedSPropTagArray(3, columns) = {3, {PR_DISPLAY_NAME_W, PR_DISPLAY_NAME_A, PR_DEFAULT_PROFILE}};
  Rows rows(p->freeProws);
  if (fail(p->queryAllRows(table.get(), reinterpret_cast<LPSPropTagArray>(&columns), nullptr,
                           nullptr, 0, rows.Out()),
           "HrQueryAllRows"))
    return result;
  for (ULONG i = 0; rows.get() != nullptr && i < rows.get()->cRows; ++i) {
    const SRow& row = rows.get()->aRow[i];
    MapiProfile profile;
    if (const SPropValue* w = Find(row.lpProps, row.cValues, PR_DISPLAY_NAME_W)) {
      profile.name = WideToUtf8(w->Value.lpszW);
    } else if (const SPropValue* a = Find(row.lpProps, row.cValues, PR_DISPLAY_NAME_A)) {
      std::string ansi = a->Value.lpszA;
      int n = MultiByteToWideChar(CP_ACP, 0, ansi.c_str(), -1, nullptr, 0);
      std::wstring wide(n > 0 ? static_cast<size_t>(n) : 1, L'\0');
      MultiByteToWideChar(CP_ACP, 0, ansi.c_str(), -1, &wide[0], n);
      profile.name = WideToUtf8(wide.c_str());
    } else {
      continue;
    }
    const SPropValue* isDefault = Find(row.lpProps, row.cValues, PR_DEFAULT_PROFILE);
    profile.isDefault = isDefault != nullptr && isDefault->Value.b;
    result.profiles.push_back(std::move(profile));
  }
  return result;
}

void ExtendedMapi::Shutdown() {
  for (auto& entry : providers_) {
    Provider& p = *entry;
    while (!p.sessions.empty()) p.Drop(p.sessions.begin()->first);
    if (p.initialized) p.uninitialize();
    p.initialized = false;
  }
}

}  // namespace oxymail
