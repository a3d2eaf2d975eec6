// Node-API glue of the CUDA engine (node-addon-api, NAPI_VERSION 8). Exports:
//   probe(): { ok, reason, driverVersion, runtimeVersion, devices: [{ index, name, major, minor, totalBytes,
//            multiprocessors, usable }] } — never throws, creates no context (safe without a driver).
//   CudaModel: class over qb::CudaModel — upload* (typed arrays, copied to the device synchronously), finishLoad(),
//            run / runTopK (Promises; the forward pass runs on a libuv worker thread), memory(), graphs(), dispose().
// C++ exceptions (qb::CudaError naming the CUDA call, std::range_error, ...) become JS Errors / RangeErrors.
#include <napi.h>

#include <cstring>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "cuda_model.h"
#include "probe.h"

namespace {

[[noreturn]] void rethrow(Napi::Env env, const std::exception& error) {
  if (dynamic_cast<const std::range_error*>(&error) != nullptr || dynamic_cast<const std::out_of_range*>(&error) != nullptr) {
    throw Napi::RangeError::New(env, error.what());
  }
  throw Napi::Error::New(env, error.what());
}

template <typename F>
auto guard(Napi::Env env, F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& error) {
    rethrow(env, error);
  }
}

Napi::Value Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  qb::ProbeResult result = qb::probe();
  Napi::Object out = Napi::Object::New(env);
  out.Set("ok", result.ok);
  out.Set("reason", result.reason);
  out.Set("driverVersion", result.driverVersion);
  out.Set("runtimeVersion", result.runtimeVersion);
  Napi::Array devices = Napi::Array::New(env, result.devices.size());
  for (size_t i = 0; i < result.devices.size(); i++) {
    const qb::DeviceInfo& device = result.devices[i];
    Napi::Object entry = Napi::Object::New(env);
    entry.Set("index", device.index);
    entry.Set("name", device.name);
    entry.Set("major", device.major);
    entry.Set("minor", device.minor);
    entry.Set("totalBytes", static_cast<double>(device.totalBytes));
    entry.Set("multiprocessors", device.multiprocessors);
    entry.Set("usable", device.usable);
    devices.Set(static_cast<uint32_t>(i), entry);
  }
  out.Set("devices", devices);
  return out;
}

int intOption(const Napi::Object& options, const char* name) {
  Napi::Value value = options.Get(name);
  if (!value.IsNumber()) throw Napi::TypeError::New(options.Env(), std::string("CudaModel: option '") + name + "' must be a number");
  return value.As<Napi::Number>().Int32Value();
}

Napi::Uint16Array u16(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_uint16_array)
    throw Napi::TypeError::New(info.Env(), "CudaModel: argument " + std::to_string(i) + " must be a Uint16Array");
  return info[i].As<Napi::Uint16Array>();
}
Napi::Uint8Array u8(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
    throw Napi::TypeError::New(info.Env(), "CudaModel: argument " + std::to_string(i) + " must be a Uint8Array");
  return info[i].As<Napi::Uint8Array>();
}
Napi::Float32Array f32(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Napi::TypeError::New(info.Env(), "CudaModel: argument " + std::to_string(i) + " must be a Float32Array");
  return info[i].As<Napi::Float32Array>();
}
Napi::Int32Array i32(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    throw Napi::TypeError::New(info.Env(), "CudaModel: argument " + std::to_string(i) + " must be an Int32Array");
  return info[i].As<Napi::Int32Array>();
}
int intArg(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsNumber()) throw Napi::TypeError::New(info.Env(), "CudaModel: argument " + std::to_string(i) + " must be a number");
  return info[i].As<Napi::Number>().Int32Value();
}

class ModelWrap;

// One forward call on a worker thread; resolves with the output typed array(s), filled in place.
class RunWorker : public Napi::AsyncWorker {
 public:
  RunWorker(Napi::Env env, ModelWrap* wrap, Napi::Object self, std::vector<int32_t> tokens, std::vector<int32_t> slots,
            std::vector<int32_t> positions, std::vector<int32_t> logitRows, int topK, Napi::TypedArray first,
            Napi::TypedArray second)
      : Napi::AsyncWorker(env, "quantbench-cuda-run"),
        deferred_(Napi::Promise::Deferred::New(env)),
        wrap_(wrap),
        self_(Napi::Persistent(self)),
        tokens_(std::move(tokens)),
        slots_(std::move(slots)),
        positions_(std::move(positions)),
        logitRows_(std::move(logitRows)),
        topK_(topK),
        first_(Napi::Persistent(static_cast<Napi::Object>(first))),
        firstData_(static_cast<uint8_t*>(first.ArrayBuffer().Data()) + first.ByteOffset()) {
    if (!second.IsEmpty()) {
      second_ = Napi::Persistent(static_cast<Napi::Object>(second));
      secondData_ = static_cast<uint8_t*>(second.ArrayBuffer().Data()) + second.ByteOffset();
    }
  }

  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override;
  void OnOK() override;
  void OnError(const Napi::Error& error) override;

 private:
  Napi::Promise::Deferred deferred_;
  ModelWrap* wrap_;
  Napi::ObjectReference self_;
  std::vector<int32_t> tokens_, slots_, positions_, logitRows_;
  int topK_;
  Napi::ObjectReference first_, second_;
  uint8_t* firstData_;
  uint8_t* secondData_ = nullptr;
  bool isRangeError_ = false;
};

class ModelWrap : public Napi::ObjectWrap<ModelWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "CudaModel",
                       {
                           InstanceMethod<&ModelWrap::UploadEmbedding>("uploadEmbedding"),
                           InstanceMethod<&ModelWrap::UploadLmHead>("uploadLmHead"),
                           InstanceMethod<&ModelWrap::UploadNorm>("uploadNorm"),
                           InstanceMethod<&ModelWrap::UploadFinalNorm>("uploadFinalNorm"),
                           InstanceMethod<&ModelWrap::UploadLinearBf16>("uploadLinearBf16"),
                           InstanceMethod<&ModelWrap::UploadLinearFp8>("uploadLinearFp8"),
                           InstanceMethod<&ModelWrap::UploadRope>("uploadRope"),
                           InstanceMethod<&ModelWrap::FinishLoad>("finishLoad"),
                           InstanceMethod<&ModelWrap::Run>("run"),
                           InstanceMethod<&ModelWrap::RunTopK>("runTopK"),
                           InstanceMethod<&ModelWrap::Memory>("memory"),
                           InstanceMethod<&ModelWrap::Graphs>("graphs"),
                           InstanceMethod<&ModelWrap::Dispose>("dispose"),
                       });
  }

  explicit ModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelWrap>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "CudaModel: expected an options object");
    Napi::Object o = info[0].As<Napi::Object>();
    qb::ModelConfig config;
    config.hiddenSize = intOption(o, "hiddenSize");
    config.intermediateSize = intOption(o, "intermediateSize");
    config.numLayers = intOption(o, "numLayers");
    config.numHeads = intOption(o, "numHeads");
    config.numKvHeads = intOption(o, "numKvHeads");
    config.headDim = intOption(o, "headDim");
    config.vocabSize = intOption(o, "vocabSize");
    config.rmsNormEps = o.Get("rmsNormEps").As<Napi::Number>().FloatValue();
    config.tieWordEmbeddings = o.Get("tieWordEmbeddings").ToBoolean().Value();
    qb::ModelLimits limits;
    limits.maxRows = intOption(o, "maxRows");
    limits.maxBatch = intOption(o, "maxBatch");
    limits.maxContext = intOption(o, "maxContext");
    const std::string kernel = o.Get("kernel").ToString().Utf8Value();
    qb::KernelMode mode;
    if (kernel == "bf16") mode = qb::KernelMode::Bf16;
    else if (kernel == "w8a16") mode = qb::KernelMode::W8a16;
    else if (kernel == "w8a8") mode = qb::KernelMode::W8a8;
    else throw Napi::TypeError::New(env, "CudaModel: unknown kernel mode '" + kernel + "'");
    const int device = intOption(o, "device");
    guard(env, [&] {
      model_ = std::make_unique<qb::CudaModel>(device, config, mode, limits);
      return 0;
    });
  }

  void finished() { busy_ = false; }
  qb::CudaModel* model() { return model_.get(); }

 private:
  qb::CudaModel& live(Napi::Env env) {
    if (!model_) throw Napi::Error::New(env, "CUDA engine: the model was disposed");
    if (busy_) throw Napi::Error::New(env, "CUDA engine: a forward pass is already running on this model");
    return *model_;
  }

  Napi::Value UploadEmbedding(const Napi::CallbackInfo& info) {
    auto bits = u16(info, 0);
    guard(info.Env(), [&] { live(info.Env()).uploadEmbedding(bits.Data(), bits.ElementLength()); return 0; });
    return info.Env().Undefined();
  }
  Napi::Value UploadLmHead(const Napi::CallbackInfo& info) {
    auto bits = u16(info, 0);
    guard(info.Env(), [&] { live(info.Env()).uploadLmHead(bits.Data(), bits.ElementLength()); return 0; });
    return info.Env().Undefined();
  }
  Napi::Value UploadNorm(const Napi::CallbackInfo& info) {
    const int layer = intArg(info, 0), kind = intArg(info, 1);
    auto values = f32(info, 2);
    guard(info.Env(), [&] {
      live(info.Env()).uploadNorm(layer, static_cast<qb::NormKind>(kind), values.Data(), values.ElementLength());
      return 0;
    });
    return info.Env().Undefined();
  }
  Napi::Value UploadFinalNorm(const Napi::CallbackInfo& info) {
    auto values = f32(info, 0);
    guard(info.Env(), [&] { live(info.Env()).uploadFinalNorm(values.Data(), values.ElementLength()); return 0; });
    return info.Env().Undefined();
  }
  Napi::Value UploadLinearBf16(const Napi::CallbackInfo& info) {
    const int layer = intArg(info, 0), projection = intArg(info, 1);
    auto bits = u16(info, 2);
    guard(info.Env(), [&] {
      live(info.Env()).uploadLinearBf16(layer, static_cast<qb::Projection>(projection), bits.Data(), bits.ElementLength());
      return 0;
    });
    return info.Env().Undefined();
  }
  Napi::Value UploadLinearFp8(const Napi::CallbackInfo& info) {
    const int layer = intArg(info, 0), projection = intArg(info, 1);
    auto codes = u8(info, 2);
    auto scales = f32(info, 3);
    guard(info.Env(), [&] {
      live(info.Env()).uploadLinearFp8(layer, static_cast<qb::Projection>(projection), codes.Data(), codes.ElementLength(),
                                       scales.Data(), scales.ElementLength());
      return 0;
    });
    return info.Env().Undefined();
  }
  Napi::Value UploadRope(const Napi::CallbackInfo& info) {
    auto table = f32(info, 0);
    guard(info.Env(), [&] { live(info.Env()).uploadRope(table.Data(), table.ElementLength()); return 0; });
    return info.Env().Undefined();
  }
  Napi::Value FinishLoad(const Napi::CallbackInfo& info) {
    guard(info.Env(), [&] { live(info.Env()).finishLoad(); return 0; });
    return info.Env().Undefined();
  }

  // run(tokens, slots, positions, logitRows): Promise<Float32Array [logitRows.length, vocab]>
  Napi::Value Run(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto tokens = i32(info, 0), slots = i32(info, 1), positions = i32(info, 2), logitRows = i32(info, 3);
    qb::CudaModel& model = live(env);
    checkRowArrays(env, tokens, slots, positions);
    auto out = Napi::Float32Array::New(env, logitRows.ElementLength() * size_t(model.config().vocabSize));
    auto* worker = new RunWorker(env, this, info.This().As<Napi::Object>(), copy(tokens), copy(slots), copy(positions),
                                 copy(logitRows), 0, out, Napi::TypedArray());
    busy_ = true;
    worker->Queue();
    return worker->promise();
  }

  // runTopK(tokens, slots, positions, k): Promise<{ values: Float32Array, indices: Int32Array }> ([rows, k] each)
  Napi::Value RunTopK(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    auto tokens = i32(info, 0), slots = i32(info, 1), positions = i32(info, 2);
    const int k = intArg(info, 3);
    live(env);
    checkRowArrays(env, tokens, slots, positions);
    if (k < 1 || k > qb::kMaxTopK) throw Napi::RangeError::New(env, "CUDA engine: top-k needs 1 ≤ k ≤ " + std::to_string(qb::kMaxTopK));
    const size_t count = tokens.ElementLength() * size_t(k);
    auto values = Napi::Float32Array::New(env, count);
    auto indices = Napi::Int32Array::New(env, count);
    auto* worker = new RunWorker(env, this, info.This().As<Napi::Object>(), copy(tokens), copy(slots), copy(positions), {},
                                 k, values, indices);
    busy_ = true;
    worker->Queue();
    return worker->promise();
  }

  Napi::Value Memory(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!model_) throw Napi::Error::New(env, "CUDA engine: the model was disposed");
    qb::MemoryStats stats = model_->memory();
    Napi::Object out = Napi::Object::New(env);
    Napi::Object categories = Napi::Object::New(env);
    for (int i = 0; i < qb::kMemoryCategories; i++) {
      Napi::Object counter = Napi::Object::New(env);
      counter.Set("live", static_cast<double>(stats.categories[i].live));
      counter.Set("peak", static_cast<double>(stats.categories[i].peak));
      categories.Set(qb::memoryCategoryName(static_cast<qb::MemoryCategory>(i)), counter);
    }
    out.Set("categories", categories);
    out.Set("live", static_cast<double>(stats.total.live));
    out.Set("peak", static_cast<double>(stats.total.peak));
    out.Set("deviceFree", static_cast<double>(stats.deviceFree));
    out.Set("deviceTotal", static_cast<double>(stats.deviceTotal));
    out.Set("deviceUsedBeforeLoad", static_cast<double>(stats.deviceUsedBeforeLoad));
    out.Set("deviceUsedAfterLoad", static_cast<double>(stats.deviceUsedAfterLoad));
    return out;
  }

  Napi::Value Graphs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Object out = Napi::Object::New(env);
    out.Set("enabled", model_ ? model_->graphsEnabled() : false);
    out.Set("captured", model_ ? static_cast<double>(model_->graphsCaptured()) : 0.0);
    out.Set("note", model_ ? model_->graphNote() : std::string("disposed"));
    return out;
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    if (busy_) throw Napi::Error::New(info.Env(), "CUDA engine: cannot dispose while a forward pass is running");
    model_.reset();
    return info.Env().Undefined();
  }

  static void checkRowArrays(Napi::Env env, const Napi::Int32Array& tokens, const Napi::Int32Array& slots,
                             const Napi::Int32Array& positions) {
    if (slots.ElementLength() != tokens.ElementLength() || positions.ElementLength() != tokens.ElementLength()) {
      throw Napi::RangeError::New(env, "CUDA engine: tokens, slots and positions differ in length");
    }
  }
  static std::vector<int32_t> copy(const Napi::Int32Array& array) {
    return std::vector<int32_t>(array.Data(), array.Data() + array.ElementLength());
  }

  std::unique_ptr<qb::CudaModel> model_;
  bool busy_ = false;
};

void RunWorker::Execute() {
  try {
    qb::CudaModel* model = wrap_->model();
    const int n = static_cast<int>(tokens_.size());
    if (topK_ == 0) {
      model->run(tokens_.data(), slots_.data(), positions_.data(), n, logitRows_.data(), static_cast<int>(logitRows_.size()),
                 reinterpret_cast<float*>(firstData_));
    } else {
      model->runTopK(tokens_.data(), slots_.data(), positions_.data(), n, topK_, reinterpret_cast<float*>(firstData_),
                     reinterpret_cast<int32_t*>(secondData_));
    }
  } catch (const std::exception& error) {
    isRangeError_ = dynamic_cast<const std::range_error*>(&error) != nullptr;
    SetError(error.what());
  }
}

void RunWorker::OnOK() {
  wrap_->finished();
  Napi::Env env = Env();
  if (topK_ == 0) {
    deferred_.Resolve(first_.Value());
  } else {
    Napi::Object out = Napi::Object::New(env);
    out.Set("values", first_.Value());
    out.Set("indices", second_.Value());
    deferred_.Resolve(out);
  }
}

void RunWorker::OnError(const Napi::Error& error) {
  wrap_->finished();
  if (isRangeError_) deferred_.Reject(Napi::RangeError::New(Env(), error.Message()).Value());
  else deferred_.Reject(error.Value());
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("probe", Napi::Function::New<Probe>(env, "probe"));
  exports.Set("CudaModel", ModelWrap::Define(env));
  exports.Set("napiVersion", NAPI_VERSION);
  return exports;
}

}  // namespace

NODE_API_MODULE(quantbench_cuda, Init)
