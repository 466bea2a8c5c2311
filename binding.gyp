# Release build, driven by prebuildify/node-gyp on Windows. Every source is
# under OS=="win": elsewhere the target is "none", so node-gyp builds nothing
# and node-gyp-build never finds a useless build/Release/oxymail.node.
# CMakeLists.txt (the Linux cross-build) lists the same sources and defines.
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
            "native/simple_mapi.cc",
            "native/strings.cc",
          ],
          "include_dirs": [
            "<!(node -p \"require('node-addon-api').include_dir\")",
            # The Outlook MAPI headers (mapix.h...) are not in the Windows SDK: point
            # OXYMAIL_MAPI_INCLUDE at them (e.g. microsoft/MAPIStubLibrary's include/).
            "<!(node -p \"process.env.OXYMAIL_MAPI_INCLUDE || 'native'\")",
          ],
          "defines": [
            "NAPI_VERSION=8",
            "NAPI_CPP_EXCEPTIONS",
            "UNICODE",
            "_UNICODE",
          ],
          "libraries": ["ole32.lib", "crypt32.lib"],
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
