// infer/state_dict.cpp — a small pickle reader and writer for torch.save zip archives.
// Supports the opcodes torch.save emits for dicts of tensors (protocols 2 to 4):
// persistent storage ids, torch._utils._rebuild_tensor_v2 / _rebuild_parameter, and
// collections.OrderedDict, which is rebuilt as an ordinary dict.
#include "infer/state_dict.h"

#include <caffe2/serialize/inline_container.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <variant>

#include "common/error.h"

namespace reelscale::infer {

int64_t TensorData::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

namespace {

struct Value;
using ValuePtr = std::shared_ptr<Value>;

struct Global {
  std::string module, name;
  std::string full() const { return module + "." + name; }
};
struct StorageRef {
  std::string key;
  std::string type;  // e.g. FloatStorage
};
struct TensorRef {
  StorageRef storage;
  int64_t offset = 0;
  std::vector<int64_t> size, stride;
};
struct Mark {};
struct Object {  // a REDUCE of a callable we do not know, kept opaque
  Global callable;
};
using List = std::vector<ValuePtr>;
using Dict = std::vector<std::pair<ValuePtr, ValuePtr>>;

struct Value {
  std::variant<std::monostate, bool, int64_t, double, std::string, List, Dict, Global, StorageRef, TensorRef, Mark,
               Object>
      v;
  bool is_tuple = false;
};

ValuePtr make(auto x) {
  auto p = std::make_shared<Value>();
  p->v = std::move(x);
  return p;
}

class Unpickler {
 public:
  Unpickler(const uint8_t* data, size_t size, std::string name) : p_(data), end_(data + size), name_(std::move(name)) {}

  ValuePtr load() {
    while (true) {
      const uint8_t op = byte();
      switch (op) {
        case 0x80: byte(); break;              // PROTO
        case 0x95: take(8); break;             // FRAME
        case '}': push(make(Dict{})); break;   // EMPTY_DICT
        case ']': push(make(List{})); break;   // EMPTY_LIST
        case ')': push_tuple({}); break;       // EMPTY_TUPLE
        case '(': push(make(Mark{})); break;   // MARK
        case 'N': push(make(std::monostate{})); break;
        case 0x88: push(make(true)); break;
        case 0x89: push(make(false)); break;
        case 'K': push(make(static_cast<int64_t>(byte()))); break;
        case 'M': push(make(static_cast<int64_t>(le(2)))); break;
        case 'J': push(make(static_cast<int64_t>(static_cast<int32_t>(le(4))))); break;
        case 0x8a: push(make(long1())); break;
        case 'G': push(make(binfloat())); break;
        case 'X': push(make(str(le(4)))); break;     // BINUNICODE
        case 0x8c: push(make(str(byte()))); break;   // SHORT_BINUNICODE
        case 'T': push(make(str(le(4)))); break;     // BINSTRING
        case 'U': push(make(str(byte()))); break;    // SHORT_BINSTRING
        case 'c': push(make(Global{line(), line()})); break;  // GLOBAL (module, then name)
        case 0x93: push(stack_global()); break;
        case 'q': memo_[byte()] = top(); break;
        case 'r': memo_[le(4)] = top(); break;
        case 0x94: memo_[memo_.size()] = top(); break;  // MEMOIZE
        case 'h': push(memo(byte())); break;
        case 'j': push(memo(le(4))); break;
        case 't': push_tuple(pop_mark()); break;
        case 0x85: push_tuple(pop_n(1)); break;
        case 0x86: push_tuple(pop_n(2)); break;
        case 0x87: push_tuple(pop_n(3)); break;
        case 'Q': push(persistent(pop())); break;  // BINPERSID
        case 'R':                                  // REDUCE
        case 0x81: push(reduce_top()); break;      // NEWOBJ
        case 'b': pop(); break;  // BUILD: state of an object (OrderedDict metadata): ignored
        case 's': set_item(); break;
        case 'u': set_items(); break;
        case 'a': append(); break;
        case 'e': appends(); break;
        case '.': return pop();
        default:
          bad("unsupported pickle opcode 0x" + hex(op));
      }
    }
  }

 private:
  [[noreturn]] void bad(const std::string& what) const {
    fail(ErrorKind::kBadInput, "cannot read weights " + name_ + ": " + what);
  }

  // LONG1: a little-endian two's-complement integer of n bytes.
  int64_t long1() {
    const int n = byte();
    int64_t v = 0;
    for (int i = 0; i < n && i < 8; ++i) v |= static_cast<int64_t>(byte()) << (8 * i);
    if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1) v -= int64_t{1} << (8 * n);
    return v;
  }

  // BINFLOAT: a big-endian double.
  double binfloat() {
    uint64_t bits = 0;
    for (int i = 0; i < 8; ++i) bits = (bits << 8) | byte();
    double d;
    std::memcpy(&d, &bits, 8);
    return d;
  }

  ValuePtr stack_global() {
    const std::string name = as_string(pop());
    const std::string module = as_string(pop());
    return make(Global{module, name});
  }

  // REDUCE and NEWOBJ: a callable (or class) and its arguments.
  ValuePtr reduce_top() {
    ValuePtr args = pop();
    ValuePtr callable = pop();
    return reduce(callable, args);
  }

  void set_item() {
    ValuePtr value = pop();
    ValuePtr key = pop();
    dict_of(top()).emplace_back(key, value);
  }

  void set_items() {
    List items = pop_mark();
    Dict& d = dict_of(top());
    for (size_t i = 0; i + 1 < items.size(); i += 2) d.emplace_back(items[i], items[i + 1]);
  }

  void append() {
    ValuePtr item = pop();
    list_of(top()).push_back(item);
  }

  void appends() {
    List items = pop_mark();
    List& l = list_of(top());
    l.insert(l.end(), items.begin(), items.end());
  }
  static std::string hex(int v) {
    const char* d = "0123456789abcdef";
    return std::string{d[(v >> 4) & 15], d[v & 15]};
  }
  uint8_t byte() {
    if (p_ >= end_) bad("the pickle ends early (corrupt file?)");
    return *p_++;
  }
  const uint8_t* take(size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) bad("the pickle ends early (corrupt file?)");
    const uint8_t* at = p_;
    p_ += n;
    return at;
  }
  uint64_t le(int n) {
    const uint8_t* b = take(n);
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | b[i];
    return v;
  }
  std::string str(uint64_t n) {
    const uint8_t* b = take(n);
    return std::string(reinterpret_cast<const char*>(b), n);
  }
  std::string line() {
    std::string s;
    for (uint8_t c = byte(); c != '\n'; c = byte()) s += static_cast<char>(c);
    return s;
  }
  void push(ValuePtr v) { stack_.push_back(std::move(v)); }
  void push_tuple(List items) {
    auto v = make(std::move(items));
    v->is_tuple = true;
    push(v);
  }
  ValuePtr top() {
    if (stack_.empty()) bad("malformed pickle (empty stack)");
    return stack_.back();
  }
  ValuePtr pop() {
    ValuePtr v = top();
    stack_.pop_back();
    return v;
  }
  List pop_n(size_t n) {
    if (stack_.size() < n) bad("malformed pickle (short stack)");
    List items(stack_.end() - n, stack_.end());
    stack_.resize(stack_.size() - n);
    return items;
  }
  List pop_mark() {
    for (size_t i = stack_.size(); i-- > 0;) {
      if (std::holds_alternative<Mark>(stack_[i]->v)) {
        List items(stack_.begin() + i + 1, stack_.end());
        stack_.resize(i);
        return items;
      }
    }
    bad("malformed pickle (no mark)");
  }
  ValuePtr memo(uint64_t i) {
    auto it = memo_.find(i);
    if (it == memo_.end()) bad("malformed pickle (unknown memo " + std::to_string(i) + ")");
    return it->second;
  }
  std::string as_string(const ValuePtr& v) {
    if (auto* s = std::get_if<std::string>(&v->v)) return *s;
    bad("expected a string in the pickle");
  }
  int64_t as_int(const ValuePtr& v) {
    if (auto* i = std::get_if<int64_t>(&v->v)) return *i;
    bad("expected an integer in the pickle");
  }
  List& list_of(const ValuePtr& v) {
    if (auto* l = std::get_if<List>(&v->v)) return *l;
    bad("expected a list in the pickle");
  }
  Dict& dict_of(const ValuePtr& v) {
    if (auto* d = std::get_if<Dict>(&v->v)) return *d;
    bad("expected a dict in the pickle");
  }
  std::vector<int64_t> ints(const ValuePtr& v) {
    std::vector<int64_t> out;
    for (const auto& x : list_of(v)) out.push_back(as_int(x));
    return out;
  }
  ValuePtr persistent(const ValuePtr& pid) {
    const List& t = list_of(pid);
    if (t.size() < 3 || as_string(t[0]) != "storage") bad("unknown persistent id");
    const auto* type = std::get_if<Global>(&t[1]->v);
    if (!type) bad("storage without a type");
    return make(StorageRef{as_string(t[2]), type->name});
  }
  ValuePtr reduce(const ValuePtr& callable, const ValuePtr& args) {
    const auto* g = std::get_if<Global>(&callable->v);
    if (!g) bad("REDUCE of a non-global");
    const std::string f = g->full();
    if (f == "collections.OrderedDict") return make(Dict{});
    if (f == "torch._utils._rebuild_tensor_v2" || f == "torch._utils._rebuild_tensor") {
      const List& a = list_of(args);
      if (a.size() < 4) bad("short tensor record");
      const auto* storage = std::get_if<StorageRef>(&a[0]->v);
      if (!storage) bad("tensor without storage");
      return make(TensorRef{*storage, as_int(a[1]), ints(a[2]), ints(a[3])});
    }
    if (f == "torch._utils._rebuild_parameter") {
      const List& a = list_of(args);
      if (a.empty()) bad("short parameter record");
      return a[0];
    }
    return make(Object{*g});
  }

  const uint8_t* p_;
  const uint8_t* end_;
  std::string name_;
  List stack_;
  std::map<uint64_t, ValuePtr> memo_;
};

float half_to_float(uint16_t h) {
  const uint32_t sign = (h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ffu;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal
      exp = 127 - 15 + 1;
      while (!(mant & 0x400u)) {
        mant <<= 1;
        --exp;
      }
      mant &= 0x3ffu;
      bits = sign | (exp << 23) | (mant << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

size_t element_size(const std::string& type, const std::string& file) {
  if (type == "FloatStorage") return 4;
  if (type == "HalfStorage" || type == "BFloat16Storage") return 2;
  if (type == "DoubleStorage") return 8;
  fail(ErrorKind::kBadInput, "cannot read weights " + file + ": tensors of type " + type + " are not supported");
}

float element(const uint8_t* base, size_t i, const std::string& type) {
  if (type == "FloatStorage") {
    float f;
    std::memcpy(&f, base + 4 * i, 4);
    return f;
  }
  if (type == "DoubleStorage") {
    double d;
    std::memcpy(&d, base + 8 * i, 8);
    return static_cast<float>(d);
  }
  uint16_t h;
  std::memcpy(&h, base + 2 * i, 2);
  if (type == "HalfStorage") return half_to_float(h);
  const uint32_t bits = static_cast<uint32_t>(h) << 16;  // bfloat16
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// torch.save's format since 1.6 is a zip archive; anything else is named as such.
void check_is_zip_archive(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) fail(ErrorKind::kNotFound, "model weights not found: " + path);
  std::ifstream f(path, std::ios::binary);
  char magic[4] = {0};
  f.read(magic, 4);
  if (f.gcount() < 4) fail(ErrorKind::kBadInput, "cannot read weights " + path + ": the file is empty or too short");
  if (!(magic[0] == 'P' && magic[1] == 'K')) {
    fail(ErrorKind::kBadInput, "cannot read weights " + path +
                                   ": not a torch.save zip archive (legacy .pth files must be re-saved with torch >= 1.6)");
  }
}

// A tensor's values gathered from its storage by strides (usually contiguous), checking
// every index stays in the storage.
TensorData gather_tensor(const TensorRef& t, const at::DataPtr& storage, size_t storage_bytes, const std::string& name,
                         const std::string& path) {
  const size_t esize = element_size(t.storage.type, path);
  const size_t available = storage_bytes / esize;
  TensorData data;
  data.shape = t.size;
  const int64_t n = data.numel();
  data.values.resize(n);
  const auto* base = static_cast<const uint8_t*>(storage.get());
  std::vector<int64_t> idx(t.size.size(), 0);
  for (int64_t i = 0; i < n; ++i) {
    int64_t offset = t.offset;
    for (size_t d = 0; d < idx.size(); ++d) offset += idx[d] * t.stride[d];
    if (offset < 0 || static_cast<size_t>(offset) >= available) {
      fail(ErrorKind::kBadInput, "cannot read weights " + path + ": tensor " + name + " reaches past its storage");
    }
    data.values[i] = element(base, offset, t.storage.type);
    for (size_t d = idx.size(); d-- > 0;) {
      if (++idx[d] < t.size[d]) break;
      idx[d] = 0;
    }
  }
  return data;
}

}  // namespace

LoadedWeights load_state_dict(const std::string& path) {
  check_is_zip_archive(path);
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> reader;
  at::DataPtr pickle;
  size_t pickle_size = 0;
  try {
    reader = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
    std::tie(pickle, pickle_size) = reader->getRecord("data.pkl");
  } catch (const std::exception& e) {
    fail(ErrorKind::kBadInput, "cannot read weights " + path + ": corrupt archive (" +
                                   std::string(e.what()).substr(0, 200) + ")");
  }
  Unpickler unpickler(static_cast<const uint8_t*>(pickle.get()), pickle_size, path);
  ValuePtr root = unpickler.load();

  const Dict* top = std::get_if<Dict>(&root->v);
  if (!top) fail(ErrorKind::kBadInput, "cannot read weights " + path + ": the top level is not a dict");
  LoadedWeights out;
  const Dict* tensors = top;
  for (const char* key : {"params_ema", "params"}) {
    for (const auto& [k, v] : *top) {
      const auto* name = std::get_if<std::string>(&k->v);
      const auto* inner = std::get_if<Dict>(&v->v);
      if (name && inner && *name == key && out.source_key.empty()) {
        tensors = inner;
        out.source_key = key;
      }
    }
  }
  std::map<std::string, std::pair<at::DataPtr, size_t>> storages;
  for (const auto& [k, v] : *tensors) {
    const auto* name = std::get_if<std::string>(&k->v);
    const auto* t = std::get_if<TensorRef>(&v->v);
    if (!name || !t) continue;
    auto it = storages.find(t->storage.key);
    if (it == storages.end()) {
      try {
        auto [data, bytes] = reader->getRecord("data/" + t->storage.key);
        it = storages.emplace(t->storage.key, std::make_pair(std::move(data), bytes)).first;
      } catch (const std::exception&) {
        fail(ErrorKind::kBadInput, "cannot read weights " + path + ": storage " + t->storage.key + " of " + *name +
                                       " is missing (corrupt file?)");
      }
    }
    out.tensors.emplace(*name, gather_tensor(*t, it->second.first, it->second.second, *name, path));
  }
  if (out.tensors.empty()) fail(ErrorKind::kBadInput, "cannot read weights " + path + ": it holds no tensors");
  return out;
}

namespace {
// Pickle bytes for {top_key: OrderedDict((name, tensor), ...)} with storages "0", "1", ...
class Pickler {
 public:
  void op(uint8_t c) { out_.push_back(static_cast<char>(c)); }
  void u32(uint32_t v) {
    for (int i = 0; i < 4; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  void string(const std::string& s) {
    op('X');
    u32(static_cast<uint32_t>(s.size()));
    out_ += s;
  }
  void global(const std::string& module, const std::string& name) {
    op('c');
    out_ += module + "\n" + name + "\n";
  }
  void integer(int64_t v) {
    if (v >= 0 && v < 2147483647) {
      op('J');
      u32(static_cast<uint32_t>(v));
    } else {
      op(0x8a);
      op(8);
      for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>((static_cast<uint64_t>(v) >> (8 * i)) & 0xff));
    }
  }
  void int_tuple(const std::vector<int64_t>& v) {
    op('(');
    for (int64_t x : v) integer(x);
    op('t');
  }
  std::string& bytes() { return out_; }

 private:
  std::string out_;
};
}  // namespace

void save_state_dict(const std::string& path, const StateDict& tensors, const std::string& top_key) {
  Pickler p;
  p.op(0x80);
  p.op(2);
  p.op('}');
  p.string(top_key);
  p.global("collections", "OrderedDict");
  p.op(')');
  p.op('R');
  p.op('(');
  int key = 0;
  for (const auto& [name, t] : tensors) {
    p.string(name);
    p.global("torch._utils", "_rebuild_tensor_v2");
    p.op('(');
    // persistent id ('storage', torch.FloatStorage, key, 'cpu', numel)
    p.op('(');
    p.string("storage");
    p.global("torch", "FloatStorage");
    p.string(std::to_string(key++));
    p.string("cpu");
    p.integer(t.numel());
    p.op('t');
    p.op('Q');
    p.integer(0);
    p.int_tuple(t.shape);
    std::vector<int64_t> stride(t.shape.size(), 1);
    for (size_t d = t.shape.size(); d-- > 1;) stride[d - 1] = stride[d] * t.shape[d];
    p.int_tuple(stride);
    p.op(0x89);  // requires_grad False
    p.global("collections", "OrderedDict");
    p.op(')');
    p.op('R');
    p.op('t');
    p.op('R');
  }
  p.op('u');
  p.op('s');
  p.op('.');
  try {
    caffe2::serialize::PyTorchStreamWriter writer(path);
    writer.writeRecord("data.pkl", p.bytes().data(), p.bytes().size());
    key = 0;
    for (const auto& [name, t] : tensors) {
      writer.writeRecord("data/" + std::to_string(key++), t.values.data(), t.values.size() * sizeof(float));
    }
    writer.writeEndOfFile();
  } catch (const std::exception& e) {
    fail(ErrorKind::kIo, "cannot write weights " + path + ": " + e.what());
  }
}

}  // namespace reelscale::infer
