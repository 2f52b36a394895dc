{
  # Built by `npm install` (scripts/build-native.mjs → node-gyp rebuild) with the
  # machine's compiler and Node's own headers; no downloads. -march=native picks
  # the GEMM microkernel (AVX-512, AVX2 or portable) for the CPU that builds it.
  "targets": [
    {
      "target_name": "muse_native",
      "sources": [
        "src/addon.cc",
        "src/attention.cc",
        "src/bert_train_step.cc",
        "src/common.cc",
        "src/decode.cc",
        "src/elementwise.cc",
        "src/gemm.cc",
        "src/lm_decode.cc",
        "src/nn.cc",
        "src/peak.cc",
        "src/signatures.cc",
        "src/quant.cc",
        "src/quant_addon.cc",
        "src/train_step.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++20"],
      "cflags_cc": ["-std=c++17", "-O3", "-march=native", "-fno-math-errno", "-fexceptions", "-Wno-maybe-uninitialized", "-Wno-uninitialized"],
      "conditions": [
        ["OS=='linux'", {
          "cflags_cc": ["-fopenmp"],
          "ldflags": ["-fopenmp"],
          "libraries": ["-lgomp"]
        }],
        ["target_arch=='x64' and OS!='win'", {
          # let the auto-vectoriser use full 512-bit vectors where the CPU has them
          "cflags_cc": ["-mprefer-vector-width=512"]
        }],
        ["OS=='mac'", {
          "xcode_settings": {
            "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "MACOSX_DEPLOYMENT_TARGET": "11.0",
            "OTHER_CPLUSPLUSFLAGS": ["-O3", "-march=native", "-fno-math-errno"]
          }
        }]
      ]
    }
  ]
}
