// mingw-w64 builds only (CMakeLists.txt): node-gyp links its own copy of this
// hook into MSVC builds. The addon's Node-API imports name "node.exe" and are
// delay-loaded (dlltool --output-delaylib): when the delay-load helper is about
// to load "node.exe", it gets the host executable instead, so the addon loads
// in any process that exports Node-API (Electron, NW.js, a renamed node.exe).
#include <windows.h>

#include <delayimp.h>

namespace {

FARPROC WINAPI LoadHostInsteadOfNode(unsigned notification, PDelayLoadInfo info) {
  if (notification != dliNotePreLoadLibrary || lstrcmpiA(info->szDll, "node.exe") != 0) return nullptr;
  // A Node built as a DLL (vcbuild dll) exports Node-API from libnode.dll, not from the executable.
  HMODULE host = GetModuleHandleW(L"libnode.dll");
  if (host == nullptr) host = GetModuleHandleW(nullptr);
  return reinterpret_cast<FARPROC>(host);
}

}  // namespace

// Defined here, so the linker never takes mingw's empty default (libmingwex's delay-n.o).
PfnDliHook __pfnDliNotifyHook2 = LoadHostInsteadOfNode;
