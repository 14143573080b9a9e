{
  "targets": [
    {
      "target_name": "rawbright",
      # Every .cc file in native/ is part of the addon, so a new feature adds a file, not a gyp edit.
      "sources": [
        "<!@(node -p \"require('fs').readdirSync('native').filter(f => f.endsWith('.cc')).sort().map(f => 'native/' + f).join(' ')\")"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": [
        "NAPI_VERSION=8",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "NAPI_CPP_EXCEPTIONS",
        "_FILE_OFFSET_BITS=64"
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O3", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "MACOSX_DEPLOYMENT_TARGET": "11.0"
      },
      "msvs_settings": {
        "VCCLCompilerTool": { "ExceptionHandling": 1 }
      },
      "conditions": [
        ["OS=='linux'", { "libraries": ["-lpthread", "-lrt"] }]
      ]
    },
    {
      # The native reference program `rawbright bench file` compares rawbright with (mmap + the
      # vectorised loop, and pread/pwrite): a separate executable, built with the same compiler and
      # flags. Its source lives outside native/ so the addon's glob above does not pick it up.
      "target_name": "rawbright-reference",
      "type": "executable",
      "sources": ["native/bench/reference.cc"],
      "cflags_cc": ["-std=c++17", "-O3", "-Wall", "-Wextra"],
      "xcode_settings": { "CLANG_CXX_LANGUAGE_STANDARD": "c++17", "MACOSX_DEPLOYMENT_TARGET": "11.0" },
      "conditions": [
        ["OS=='win'", { "type": "none", "sources!": ["native/bench/reference.cc"] }]
      ]
    }
  ]
}
