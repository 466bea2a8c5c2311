# The MSVC build, driven by node-gyp: prebuildify makes the win32-arm64 prebuild with it on the
# windows runner, and a user's install builds from it when no prebuild fits. The x64 and ia32
# prebuilds are cross-built on Linux from CMakeLists.txt (mingw-w64): keep the sources and defines
# identical (test/unit/build-files.test.ts). Every source is under OS=="win": elsewhere the target
# is "none", so node-gyp builds nothing and node-gyp-build never finds a useless build.
# Host executables not named node.exe (Electron...): node-gyp links its own delay-load hook
# (win_delay_load_hook, on by default); the mingw build has native/win_delay_load_hook.cc.
{
  "targets": [
    {
      "target_name": "oxymail",
      "conditions": [
        ["OS=='win'", {
          "sources": [
            "native/addon.cc",
            "native/dpapi.cc",
            "native/extended_mapi.cc",
            "native/mapi_thread.cc",
            "native/registry.cc",
            "native/simple_mapi.cc",
            "native/strings.cc",
          ],
          "include_dirs": [
            "<!(node -p \"require('node-addon-api').include_dir\")",
            # The Outlook MAPI headers (mapix.h...) are not in the Windows SDK: point
            # OXYMAIL_MAPI_INCLUDE at them (e.g. microsoft/MAPIStubLibrary's include/).
            "<!(node -p \"process.env.OXYMAIL_MAPI_INCLUDE || 'native'\")",
          ],
          # Exception policy (stated once, the same in CMakeLists.txt): C++ exceptions ON.
          # node-addon-api throws Napi::Error as C++ exceptions and the MAPI code catches
          # std::bad_alloc, so the STL must have them too: Node's common.gypi defines
          # _HAS_EXCEPTIONS=0 for MSVC; it is removed here and replaced (native/addon.cc
          # refuses to compile otherwise), with /EHsc (ExceptionHandling 1).
          "defines!": ["_HAS_EXCEPTIONS=0"],
          "defines": [
            "NAPI_VERSION=8",
            "NAPI_CPP_EXCEPTIONS",
            "_HAS_EXCEPTIONS=1",
            "UNICODE",
            "_UNICODE",
          ],
          "libraries": ["ole32.lib", "crypt32.lib", "advapi32.lib"],
          "msvs_settings": {
            "VCCLCompilerTool": {
              "ExceptionHandling": 1,
              "AdditionalOptions": ["/std:c++17", "/utf-8"],
            },
          },
        }, {
          "type": "none",
        }],
      ],
    },
  ],
}
