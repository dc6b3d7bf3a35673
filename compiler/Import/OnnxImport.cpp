//===- OnnxImport.cpp - ONNX graphs to .ein cascades ----------------------===//
#include "cascade/runtime.h"
#include "compiler/Import/Importer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

namespace cascade {
using namespace onnx_import;

namespace onnx_import {

bool fitsElementLimit(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0 || (d > 0 && n > (int64_t(1) << 40) / d))
      return false;
    n *= d;
  }
  return true;
}

bool isFloatType(int type) {
  return type == onnx::TensorProto::FLOAT ||
         type == onnx::TensorProto::FLOAT16 ||
         type == onnx::TensorProto::DOUBLE ||
         type == onnx::TensorProto::BFLOAT16;
}

std::string typeName(int type) {
  if (onnx::TensorProto::DataType_IsValid(type))
    return onnx::TensorProto::DataType_Name(
        static_cast<onnx::TensorProto::DataType>(type));
  return "type " + std::to_string(type);
}

namespace {
float halfToFloat(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1F, mant = h & 0x3FF;
  uint32_t bits;
  if (exp == 0x1F)
    bits = sign | 0x7F800000u | (mant << 13);
  else if (exp)
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  else if (!mant)
    bits = sign;
  else {
    int e = -1;
    do {
      ++e;
      mant <<= 1;
    } while (!(mant & 0x400));
    bits = sign | ((112 - e) << 23) | ((mant & 0x3FF) << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
float bf16ToFloat(uint16_t h) {
  uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

template <typename T> T load(const char *p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
} // namespace

bool decodeTensor(const onnx::TensorProto &t, Const &out, std::string &why) {
  out.type = t.data_type();
  out.shape.assign(t.dims().begin(), t.dims().end());
  int64_t n = 1;
  for (int64_t d : out.shape) {
    if (d < 0 || (d && n > (int64_t(1) << 40) / d)) {
      why = "has an invalid shape";
      return false;
    }
    n *= d;
  }
  if (t.data_location() == onnx::TensorProto::EXTERNAL) {
    why = "keeps its data in an external file, which the importer does not "
          "read yet";
    return false;
  }
  int bytes = 0;
  switch (t.data_type()) {
  case onnx::TensorProto::DOUBLE:
  case onnx::TensorProto::INT64:
  case onnx::TensorProto::UINT64:
    bytes = 8;
    break;
  case onnx::TensorProto::FLOAT:
  case onnx::TensorProto::INT32:
  case onnx::TensorProto::UINT32:
    bytes = 4;
    break;
  case onnx::TensorProto::FLOAT16:
  case onnx::TensorProto::BFLOAT16:
  case onnx::TensorProto::INT16:
  case onnx::TensorProto::UINT16:
    bytes = 2;
    break;
  case onnx::TensorProto::INT8:
  case onnx::TensorProto::UINT8:
  case onnx::TensorProto::BOOL:
    bytes = 1;
    break;
  default:
    why = "has element type " + typeName(t.data_type()) +
          ", which Cascade cannot hold";
    return false;
  }
  if (t.has_raw_data()) {
    const std::string &raw = t.raw_data();
    if ((int64_t)raw.size() != n * bytes) {
      why = "holds " + std::to_string(raw.size()) + " bytes of data, not the " +
            std::to_string(n * bytes) + " its shape needs";
      return false;
    }
    out.values.resize(n);
    const char *p = raw.data();
    for (int64_t i = 0; i < n; ++i, p += bytes) {
      double v = 0;
      switch (t.data_type()) {
      case onnx::TensorProto::DOUBLE:
        v = load<double>(p);
        break;
      case onnx::TensorProto::INT64:
        v = (double)load<int64_t>(p);
        break;
      case onnx::TensorProto::UINT64:
        v = (double)load<uint64_t>(p);
        break;
      case onnx::TensorProto::FLOAT:
        v = load<float>(p);
        break;
      case onnx::TensorProto::INT32:
        v = load<int32_t>(p);
        break;
      case onnx::TensorProto::UINT32:
        v = load<uint32_t>(p);
        break;
      case onnx::TensorProto::FLOAT16:
        v = halfToFloat(load<uint16_t>(p));
        break;
      case onnx::TensorProto::BFLOAT16:
        v = bf16ToFloat(load<uint16_t>(p));
        break;
      case onnx::TensorProto::INT16:
        v = load<int16_t>(p);
        break;
      case onnx::TensorProto::UINT16:
        v = load<uint16_t>(p);
        break;
      case onnx::TensorProto::INT8:
        v = load<int8_t>(p);
        break;
      default:
        v = (unsigned char)*p;
        break; // UINT8, BOOL
      }
      out.values[i] = v;
    }
    return true;
  }
  auto take = [&](const auto &field, auto convert) {
    if ((int64_t)field.size() != n) {
      why = "holds " + std::to_string(field.size()) + " values, not the " +
            std::to_string(n) + " its shape needs";
      return false;
    }
    out.values.resize(n);
    for (int64_t i = 0; i < n; ++i)
      out.values[i] = convert(field.Get(i));
    return true;
  };
  auto same = [](auto v) { return (double)v; };
  switch (t.data_type()) {
  case onnx::TensorProto::FLOAT:
    return take(t.float_data(), same);
  case onnx::TensorProto::DOUBLE:
    return take(t.double_data(), same);
  case onnx::TensorProto::INT64:
    return take(t.int64_data(), same);
  case onnx::TensorProto::UINT64:
  case onnx::TensorProto::UINT32:
    return take(t.uint64_data(), same);
  case onnx::TensorProto::FLOAT16:
    return take(t.int32_data(),
                [](int32_t v) { return (double)halfToFloat(uint16_t(v)); });
  case onnx::TensorProto::BFLOAT16:
    return take(t.int32_data(),
                [](int32_t v) { return (double)bf16ToFloat(uint16_t(v)); });
  default:
    return take(t.int32_data(), same);
  }
}

bool readNpy(const std::string &file, Const &out, std::string &why) {
  double *data = nullptr;
  int64_t shape[CASCADE_MAX_RANK];
  int rank = 0;
  if (cascade_npy_read_f64(file.c_str(), &data, shape, &rank) != CASCADE_OK) {
    why = cascade_last_error();
    // The runtime's message starts with the path, which the caller names.
    if (why.rfind(file + ": ", 0) == 0)
      why = why.substr(file.size() + 2);
    return false;
  }
  out.shape.assign(shape, shape + rank);
  int64_t n = 1;
  for (int64_t d : out.shape)
    n *= d;
  out.values.assign(data, data + n);
  out.type = onnx::TensorProto::DOUBLE;
  cascade_free(data);
  return true;
}

//===----------------------------------------------------------------------===//
// The importer's services to the operator translations
//===----------------------------------------------------------------------===//

bool Importer::fail(const std::string &what) {
  if (!error.empty())
    return false;
  error = path + ": ";
  if (node)
    error += "node " + std::to_string(nodeIndex) + " '" + node->name() + "' (" +
             node->op_type() + "): ";
  error += "error: " + what;
  return false;
}

std::string Importer::input(unsigned i) const {
  return i < (unsigned)node->input_size() ? node->input(i) : "";
}

std::optional<View> Importer::materialize(Pending &p) {
  Equation eq(ranks);
  for (int64_t e : p.shape)
    eq.addSlot(e);
  std::vector<unsigned> ids;
  for (size_t k = 0; k < p.operands.size(); ++k)
    ids.push_back(eq.addOperand(p.operands[k], p.slotOf[k]));
  return emitEquation(eq, p.name, [&] {
    Reads reads;
    for (unsigned id : ids)
      reads.push_back(eq.read(id));
    return p.rhs(reads);
  });
}

bool Importer::write(Value &slot, const std::vector<unsigned> &perm) {
  Pending stored = *slot.pending;
  if (!perm.empty())
    stored = *transposePending(stored, perm);
  // Written where a later node needs it, as a group of its own before that
  // node's: say which nodes it computes.
  size_t before = equations.size();
  emit("# " + slot.pending->origin);
  auto view = materialize(stored);
  if (!view)
    return false;
  if (nodeComment < before) {
    std::rotate(equations.begin() + nodeComment, equations.begin() + before,
                equations.end());
    nodeComment += equations.size() - before;
  }
  if (!perm.empty()) {
    std::vector<unsigned> inverse(perm.size());
    for (unsigned k = 0; k < perm.size(); ++k)
      inverse[perm[k]] = k;
    view = transpose(*view, inverse);
  }
  slot.view = view;
  slot.pending.reset();
  return true;
}

const Value *Importer::concrete(unsigned i, const std::vector<unsigned> &perm) {
  std::string name = input(i);
  const Value *v = value(name);
  if (!v || !v->pending)
    return v;
  Value &slot = values[name];
  return write(slot, perm) ? &slot : nullptr;
}

std::optional<Operand> Importer::operandOf(unsigned i) {
  const Value *v = value(input(i));
  if (!v)
    return std::nullopt;
  if (v->pending)
    return Operand{std::nullopt, v->pending};
  auto view = viewOf(i);
  if (!view)
    return std::nullopt;
  return Operand{view, nullptr};
}

std::shared_ptr<Pending> Importer::combine(const std::vector<Operand> &ins,
                                           const Rhs &rhs) {
  unsigned rank = 0;
  for (const Operand &o : ins)
    rank = std::max<unsigned>(rank, o.shape().size());
  std::vector<int64_t> shape(rank, 1);
  for (const Operand &o : ins) {
    std::vector<int64_t> s = o.shape();
    for (unsigned d = 0; d < s.size(); ++d) {
      int64_t &r = shape[rank - s.size() + d];
      if (r != 1 && s[d] != 1 && r != s[d]) {
        fail("the operands' shapes do not broadcast (" + std::to_string(r) +
             " against " + std::to_string(s[d]) + ")");
        return nullptr;
      }
      r = std::max(r, s[d]);
    }
  }
  // Flatten: the operands of pending inputs become this one's, their dims
  // mapped through the pending result's dims to ours.
  auto p = std::make_shared<Pending>();
  p->shape = shape;
  std::vector<std::pair<size_t, size_t>> ranges; // operands of input k
  std::vector<Rhs> inner;
  for (const Operand &o : ins)
    if (o.pending)
      p->origin += o.pending->origin + ", ";
  for (const Operand &o : ins) {
    std::vector<int64_t> s = o.shape();
    auto toOurs = [&](int d) {
      if (d < 0)
        return -1;
      unsigned ours = rank - s.size() + d;
      return s[d] == 1 && shape[ours] != 1 ? -1 : (int)ours;
    };
    size_t begin = p->operands.size();
    if (o.view) {
      std::vector<int> slotOf;
      for (unsigned d = 0; d < s.size(); ++d)
        slotOf.push_back(toOurs(d));
      p->operands.push_back(*o.view);
      p->slotOf.push_back(slotOf);
      inner.push_back([](const Reads &r) { return r[0]; });
    } else {
      for (size_t k = 0; k < o.pending->operands.size(); ++k) {
        std::vector<int> slotOf;
        for (int d : o.pending->slotOf[k])
          slotOf.push_back(toOurs(d));
        p->operands.push_back(o.pending->operands[k]);
        p->slotOf.push_back(slotOf);
      }
      Rhs f = o.pending->rhs;
      inner.push_back([f](const Reads &r) { return "(" + f(r) + ")"; });
    }
    ranges.push_back({begin, p->operands.size()});
  }
  p->rhs = [ranges, inner, rhs](const Reads &reads) {
    Reads args;
    for (size_t k = 0; k < ranges.size(); ++k)
      args.push_back(inner[k](Reads(reads.begin() + ranges[k].first,
                                    reads.begin() + ranges[k].second)));
    return rhs(args);
  };
  return p;
}

bool Importer::elementwiseNode(const std::vector<Operand> &ins, const Rhs &rhs,
                               int type) {
  std::shared_ptr<Pending> p = combine(ins, rhs);
  if (!p)
    return false;
  p->origin += node->op_type() + " '" + node->name() + "'";
  p->name = tensorName(0);
  return definePending(0, p, type);
}

bool Importer::definePending(unsigned i, std::shared_ptr<Pending> p, int type) {
  std::string out = (int)i < node->output_size() ? node->output(i) : "";
  if (out.empty())
    return true;
  Value v;
  v.type = type;
  // Readers that each take a part of it (Slice, Split: GPT-2's fused QKV)
  // get their part pending too, so each is written in its own layout.
  bool partsOnly = onlyReadAs(out, [](const onnx::NodeProto &n, int k) {
    return k == 0 && (n.op_type() == "Slice" || n.op_type() == "Split");
  });
  if (uses[out] == 1 || partsOnly) {
    v.pending = p;
  } else {
    auto view = materialize(*p);
    if (!view)
      return false;
    v.view = view;
  }
  values[out] = v;
  return true;
}

const Value *Importer::value(const std::string &name) {
  auto it = values.find(name);
  if (it == values.end()) {
    fail("input '" + name +
         "' is not produced by any earlier node, "
         "initializer or graph input");
    return nullptr;
  }
  return &it->second;
}

int Importer::typeOf(unsigned i) {
  const Value *v = value(input(i));
  return v ? v->type : onnx::TensorProto::FLOAT;
}

std::optional<View> Importer::viewOf(unsigned i) {
  std::string name = input(i);
  if (name.empty()) {
    fail("input " + std::to_string(i) + " is missing");
    return std::nullopt;
  }
  const Value *v = value(name);
  if (v && v->pending)
    v = concrete(i);
  if (!v)
    return std::nullopt;
  if (v->view)
    return v->view;
  if (!v->constant) {
    fail("'" + name +
         "' has an empty dimension; Cascade has no empty "
         "tensors");
    return std::nullopt;
  }
  const Const &c = *v->constant;
  for (double x : c.values)
    if (std::isnan(x)) {
      fail("constant '" + name + "' holds NaN, which .ein cannot write");
      return std::nullopt;
    }
  if (c.values.size() == 1)
    return View::constant(c.values[0], c.shape);
  if (c.values.empty()) {
    fail("'" + name + "' is an empty tensor");
    return std::nullopt;
  }
  std::string key = c.key.empty() ? name : c.key;
  if (c.shape.size() == 2 && !weights.count(key) && onlyMatMulWeight(name))
    return transposedWeight(key, c);
  return weight(key, c);
}

void Importer::markScalable(unsigned i, const std::string &tensor) {
  if ((int)i < node->output_size() && !node->output(i).empty())
    scalable[node->output(i)] = tensor;
}

bool Importer::foldScale(bool divide) {
  if (node->output_size() < 1 || numInputs() != 2)
    return false;
  for (unsigned x = 0; x < 2; ++x) {
    if (divide && x == 1)
      break; // c / product is not a scale
    auto it = scalable.find(input(x));
    const Value *c =
        values.count(input(1 - x)) ? &values[input(1 - x)] : nullptr;
    if (it == scalable.end() || uses[input(x)] != 1 || !c || !c->constant ||
        c->constant->values.size() != 1 || !values[input(x)].view)
      continue;
    double factor = c->constant->values[0];
    View product = *values[input(x)].view;
    // The constant must not add dims (numpy broadcasting of [1, 1, 1, 1]),
    // and must be a finite, non-zero number the equation can hold.
    if (c->constant->shape.size() > product.rank() || !std::isfinite(factor) ||
        factor == 0 || (divide && !std::isfinite(1 / factor)))
      continue;
    // The product's equation: the line that defines its tensor.
    std::string lhs = it->second + "[";
    for (auto line = equations.rbegin(); line != equations.rend(); ++line) {
      if (line->compare(0, lhs.size(), lhs) != 0)
        continue;
      // Named after the scaled value, which the graph reads from now on.
      std::string name = tensorName(0);
      *line = name + line->substr(it->second.size()) +
              (divide ? " / " : " * ") + formatNumber(factor);
      product.tensor = name;
      // The comment of the product's node names this one too.
      for (auto comment = line; comment != equations.rend(); ++comment)
        if (comment->compare(0, 2, "# ") == 0) {
          *comment += ", " + node->op_type() + " '" + node->name() + "'";
          break;
        }
      define(0, product, typeOf(x));
      scalable[node->output(0)] = name;
      scalable.erase(it);
      return true;
    }
  }
  return false;
}

bool Importer::onlyReadAs(
    const std::string &name,
    const std::function<bool(const onnx::NodeProto &, int)> &as) const {
  if (graphOutputs.count(name))
    return false;
  auto it = readers.find(name);
  return it == readers.end() ||
         std::all_of(it->second.begin(), it->second.end(),
                     [&](auto &r) { return as(*r.first, r.second); });
}

const onnx::NodeProto *Importer::onlyReader(const std::string &name) const {
  auto it = readers.find(name);
  if (graphOutputs.count(name) || it == readers.end() || it->second.size() != 1)
    return nullptr;
  return it->second.front().first;
}

bool Importer::producedBy(const std::string &name,
                          const std::string &opType) const {
  auto it = producer.find(name);
  return it != producer.end() && it->second->op_type() == opType;
}

bool Importer::onlyMatMulWeight(const std::string &name) const {
  return onlyReadAs(name, [](const onnx::NodeProto &n, int k) {
    if (k != 1)
      return false;
    if (n.op_type() == "MatMul")
      return true;
    for (const auto &a : n.attribute())
      if (a.name() == "transB" && a.i() != 0)
        return false;
    return n.op_type() == "Gemm";
  });
}

View Importer::transposedWeight(const std::string &key, const Const &c) {
  Const t = c;
  int64_t rows = c.shape[0], cols = c.shape[1];
  t.shape = {cols, rows};
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t k = 0; k < cols; ++k)
      t.values[k * rows + r] = c.values[r * cols + k];
  weight(key, t);
  WeightDecl &w = weights[key];
  w.note = "   # [out, in]: the initializer transposed";
  declarations[w.declaration] += w.note;
  w.view = transpose(w.view, {1, 0});
  return w.view;
}

const Const *Importer::constantOf(unsigned i, const std::string &role) {
  const Value *v = value(input(i));
  if (!v)
    return nullptr;
  auto file = inputFiles.find(input(i));
  if (!v->constant && graphInputs.count(input(i)) && file != inputFiles.end()) {
    // A graph input that decides a shape: fold the value given for it.
    Const c;
    std::string why;
    if (!readNpy(file->second, c, why)) {
      fail(file->second + " (the value of '" + input(i) + "') " + why);
      return nullptr;
    }
    if (c.shape != v->shape()) {
      fail(file->second + " (the value of '" + input(i) + "') has shape " +
           std::to_string(c.shape.size()) + "-d of the wrong extents");
      return nullptr;
    }
    c.type = v->type;
    Value &slot = values[input(i)];
    slot.constant = c;
    if (!readTensors.count(slot.view->tensor))
      slot.view.reset();
    out.folded.push_back(input(i));
    return &*slot.constant;
  }
  if (!v->constant) {
    fail("its " + role + " ('" + input(i) +
         "') must be known when the model is imported: an initializer, a "
         "Constant, or a graph input given with --input to `cascade run`");
    return nullptr;
  }
  return &*v->constant;
}

void Importer::define(unsigned output, View v, int type) {
  if (output < (unsigned)node->output_size() && !node->output(output).empty())
    values[node->output(output)] =
        Value{std::move(v), std::nullopt, type, {}, nullptr};
}

void Importer::defineConst(unsigned output, Const c) {
  if (output < (unsigned)node->output_size() && !node->output(output).empty()) {
    int type = c.type;
    values[node->output(output)] =
        Value{std::nullopt, std::move(c), type, {}, nullptr};
  }
}

const onnx::AttributeProto *Importer::attr(const std::string &name) const {
  for (const auto &a : node->attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}
bool Importer::hasAttr(const std::string &name) const {
  return attr(name) != nullptr;
}
int64_t Importer::attrInt(const std::string &name, int64_t dflt) const {
  const auto *a = attr(name);
  return a ? a->i() : dflt;
}
float Importer::attrFloat(const std::string &name, float dflt) const {
  const auto *a = attr(name);
  return a ? a->f() : dflt;
}
std::vector<int64_t> Importer::attrInts(const std::string &name) const {
  const auto *a = attr(name);
  if (!a)
    return {};
  return {a->ints().begin(), a->ints().end()};
}
std::string Importer::attrString(const std::string &name,
                                 const std::string &dflt) const {
  const auto *a = attr(name);
  return a ? a->s() : dflt;
}

bool Importer::axis(int64_t a, unsigned rank, unsigned &result) {
  if (a < -(int64_t)rank || a >= (int64_t)rank)
    return fail("axis " + std::to_string(a) + " is out of range for rank " +
                std::to_string(rank));
  result = a < 0 ? a + rank : a;
  return true;
}

std::string Importer::uniqueName(const std::string &onnxName) {
  std::string s = onnxFileStem(onnxName);
  if (s.empty() || !std::isalpha((unsigned char)s[0]))
    s = "T" + s;
  s[0] = std::toupper((unsigned char)s[0]);
  // Rank names are N<digits>[_<digits>]: keep tensor names apart from them.
  bool rankLike = s.size() > 1 && s[0] == 'N' &&
                  s.find_first_not_of("0123456789_", 1) == std::string::npos;
  if (rankLike)
    s += "_t";
  std::string name = s;
  for (int k = 2; names.count(name); ++k)
    name = s + "_" + std::to_string(k);
  names.insert(name);
  return name;
}

std::string Importer::tensorName(unsigned output, const std::string &suffix) {
  std::string base = output < (unsigned)node->output_size()
                         ? node->output(output)
                         : node->name();
  return uniqueName(base + suffix);
}

View Importer::weight(const std::string &key, const Const &c) {
  auto it = weights.find(key);
  if (it != weights.end())
    return it->second.view;
  std::string name = uniqueName(key);
  std::string dims;
  for (int64_t d : c.shape)
    dims += (dims.empty() ? "" : ", ") + ranks.rank(d, 0);
  std::string keyText;
  for (char ch : key)
    keyText += ch == '"' || ch == '\\' ? '_' : ch;
  declarations.push_back("weight " + name + "[" + dims + "] : f32 = \"" +
                         keyText + "\"");
  stored.push_back({keyText, c.shape, {c.values.begin(), c.values.end()}});
  View v = View::identity(name, c.shape);
  weights[key] = {name, declarations.size() - 1, keyText, v, false, ""};
  weightKeys[name] = key;
  return v;
}

void Importer::refineWeights(Equation &eq) {
  for (unsigned id = 0; id < eq.numOperands(); ++id) {
    const View &v = eq.operandView(id);
    auto key = weightKeys.find(v.tensor);
    if (key == weightKeys.end())
      continue;
    WeightDecl &w = weights[key->second];
    if (w.read)
      continue;
    // Only a permutation of the stored dims (one atom per dim, each a
    // stored dim read plainly) is split.
    unsigned rank = v.rank();
    bool permutation = v.atoms.size() == rank && v.base.size() == rank;
    std::vector<unsigned> dimOfBase(rank);
    for (unsigned b = 0; permutation && b < rank; ++b) {
      const AffineIndex &a = v.base[b];
      permutation =
          a.offset == 0 && a.coef.size() == 1 && a.coef.begin()->second == 1;
      if (permutation)
        dimOfBase[b] = a.coef.begin()->first;
    }
    for (unsigned d = 0; permutation && d < rank; ++d)
      permutation = v.dimEnd[d] == d + 1;
    if (!permutation)
      continue;
    std::vector<std::vector<int64_t>> parts = eq.operandRefinement(id);
    if (std::none_of(parts.begin(), parts.end(),
                     [](auto &p) { return p.size() > 1; }))
      continue;
    std::vector<int64_t> shape;
    std::vector<unsigned> dimEnd, order(rank);
    for (unsigned b = 0; b < rank; ++b) {
      for (int64_t e : parts[dimOfBase[b]])
        shape.push_back(e);
      dimEnd.push_back(shape.size());
      order[dimOfBase[b]] = b;
    }
    View stored = View::identity(w.name, shape);
    stored.dimEnd = dimEnd;
    std::string dims;
    for (int64_t e : shape)
      dims += (dims.empty() ? "" : ", ") + ranks.rank(e, 0);
    declarations[w.declaration] = "weight " + w.name + "[" + dims +
                                  "] : f32 = \"" + w.keyText + "\"" + w.note;
    // Later readers see the value's dims, as before the split.
    w.view = transpose(stored, order);
    eq.replaceOperand(id, w.view);
  }
  for (unsigned id = 0; id < eq.numOperands(); ++id) {
    auto key = weightKeys.find(eq.operandView(id).tensor);
    if (key != weightKeys.end())
      weights[key->second].read = true;
  }
}

void Importer::emit(const std::string &equation) {
  equations.push_back(equation);
}

std::optional<View>
Importer::emitEquation(Equation &eq, const std::string &name,
                       const std::function<std::string()> &rhs,
                       const std::string &reductionOp) {
  std::string why;
  if (!eq.finalize(why)) {
    fail(why);
    return std::nullopt;
  }
  refineWeights(eq);
  for (const std::string &t : eq.tensors())
    readTensors.insert(t);
  // A sum is .ein's default reduction: no `::` needed.
  emit(eq.lhs(name) + " = " + rhs() +
       (reductionOp == "+" ? "" : eq.reduction(reductionOp)));
  return eq.result(name);
}

std::optional<View> Importer::elementwise(const std::string &name,
                                          const std::vector<View> &ins,
                                          const Rhs &rhs) {
  std::vector<Operand> operands;
  for (const View &v : ins)
    operands.push_back({v, nullptr});
  std::shared_ptr<Pending> p = combine(operands, rhs);
  if (!p)
    return std::nullopt;
  p->name = name;
  return materialize(*p);
}

std::optional<View>
Importer::reduce(const std::string &name, const View &in,
                 const std::set<unsigned> &axes, bool keepDims,
                 const std::string &op, int64_t divisor,
                 const std::function<std::string(const std::string &)> &term) {
  Equation eq(ranks);
  std::vector<int> slotOf(in.rank(), -1);
  std::vector<int64_t> keptShape;
  for (unsigned d = 0; d < in.rank(); ++d) {
    if (!axes.count(d))
      slotOf[d] = eq.addSlot(in.extent(d));
    keptShape.push_back(axes.count(d) ? 1 : in.extent(d));
  }
  for (unsigned d : axes)
    slotOf[d] = eq.addSlot(in.extent(d), /*reduced=*/true);
  unsigned id = eq.addOperand(in, slotOf);
  auto r = emitEquation(
      eq, name,
      [&] {
        std::string x = eq.read(id);
        if (term)
          x = term(x);
        return divisor == 1 ? x : x + " / " + std::to_string(divisor);
      },
      op);
  if (!r || !keepDims)
    return r;
  std::string why;
  return reshape(*r, keptShape, why);
}

//===----------------------------------------------------------------------===//
// The graph
//===----------------------------------------------------------------------===//

bool Importer::declareInputs() {
  const onnx::GraphProto &g = model.graph();
  for (const auto &init : g.initializer()) {
    Const c;
    std::string why;
    if (!decodeTensor(init, c, why))
      return fail("initializer '" + init.name() + "' " + why);
    c.key = init.name();
    int type = c.type;
    values[init.name()] = Value{std::nullopt, std::move(c), type, {}, nullptr};
  }
  for (const auto &in : g.input()) {
    if (values.count(in.name()))
      continue; // an initializer listed as an input (IR version < 4)
    if (!in.type().has_tensor_type())
      return fail("graph input '" + in.name() + "' is not a tensor");
    const auto &tt = in.type().tensor_type();
    if (tt.elem_type() == onnx::TensorProto::STRING ||
        tt.elem_type() == onnx::TensorProto::UNDEFINED ||
        tt.elem_type() > onnx::TensorProto::BFLOAT16)
      return fail("graph input '" + in.name() + "' has element type " +
                  typeName(tt.elem_type()) + ", which Cascade cannot hold");
    if (!tt.has_shape())
      return fail("graph input '" + in.name() + "' has no shape");
    std::vector<int64_t> shape;
    graphInputs.insert(in.name());
    bool empty = false;
    for (int i = 0; i < tt.shape().dim_size(); ++i) {
      const auto &dim = tt.shape().dim(i);
      if (dim.has_dim_value() && dim.dim_value() > 0) {
        shape.push_back(dim.dim_value());
        continue;
      }
      if (dim.has_dim_value() && dim.dim_value() == 0) {
        // Usable only as a value folded at import (ReduceSum's empty axes).
        empty = true;
        shape.push_back(0);
        continue;
      }
      if (dim.has_dim_value())
        return fail("graph input '" + in.name() + "' has extent " +
                    std::to_string(dim.dim_value()) + " in dimension " +
                    std::to_string(i) + "; extents must be positive");
      std::string param = dim.dim_param();
      auto it = sizes.find(param);
      if (param.empty() || it == sizes.end())
        return fail("graph input '" + in.name() + "' has a dynamic dimension " +
                    std::to_string(i) +
                    (param.empty()
                         ? std::string(" with no name")
                         : " ('" + param + "'): give its size with --set " +
                               param + "=N") +
                    "; dynamic extents are not supported yet");
      usedSizes.insert(param);
      if (it->second < 1 || it->second != std::floor(it->second))
        return fail("--set " + param + " must be a positive integer");
      shape.push_back((int64_t)it->second);
    }
    if (shape.size() > kMaxRank)
      return fail("graph input '" + in.name() + "' has rank " +
                  std::to_string(shape.size()) + "; Cascade takes up to " +
                  std::to_string(kMaxRank));
    if (!empty && !fitsElementLimit(shape))
      return fail("graph input '" + in.name() +
                  "' has more than 2^40 "
                  "elements");
    if (empty) {
      Value v;
      v.type = tt.elem_type();
      v.emptyShape = shape;
      values[in.name()] = v;
      continue;
    }
    std::string name = uniqueName(in.name());
    std::string dims;
    for (int64_t d : shape)
      dims += (dims.empty() ? "" : ", ") + ranks.rank(d, 0);
    inputDeclarations[in.name()] = "input " + name + "[" + dims + "] : f32";
    values[in.name()] = Value{
        View::identity(name, shape), std::nullopt, tt.elem_type(), {}, nullptr};
    out.inputs.push_back({name, in.name(), shape, typeName(tt.elem_type())});
  }
  return true;
}

bool Importer::declareOutputs() {
  std::vector<std::string> names;
  for (const auto &o : model.graph().output()) {
    auto it = values.find(o.name());
    if (it == values.end())
      return fail("graph output '" + o.name() +
                  "' is not produced by any "
                  "node");
    Value &v = it->second;
    if (v.pending && !write(v))
      return false;
    std::vector<int64_t> shape = v.shape();
    // An output is a tensor an equation writes, in row-major order: copy a
    // view, a constant or a graph input into one.
    bool isEquation = v.view && v.view->isPlainStorage() &&
                      !std::any_of(out.inputs.begin(), out.inputs.end(),
                                   [&](const ImportedTensor &t) {
                                     return t.einName == v.view->tensor;
                                   });
    std::string name;
    if (isEquation) {
      name = v.view->tensor;
    } else {
      node = nullptr;
      std::optional<View> src;
      if (v.view) {
        src = v.view;
      } else if (v.constant->values.empty()) {
        return fail("graph output '" + o.name() +
                    "' is empty; Cascade has no empty tensors");
      } else if (v.constant->values.size() == 1) {
        src = View::constant(v.constant->values[0], shape);
      } else {
        src = weight(o.name(), *v.constant);
      }
      name = uniqueName(o.name());
      Equation eq(ranks);
      std::vector<int> slotOf;
      for (int64_t e : shape)
        slotOf.push_back(eq.addSlot(e));
      unsigned id = eq.addOperand(*src, slotOf);
      auto r = emitEquation(eq, name, [&] { return eq.read(id); });
      if (!r)
        return false;
      v.view = r;
    }
    names.push_back(name);
    out.outputs.push_back({name, o.name(), shape, typeName(v.type)});
  }
  if (names.empty())
    return fail("the graph has no outputs");
  std::string line = "output ";
  for (size_t i = 0; i < names.size(); ++i)
    line += (i ? ", " : "") + names[i];
  declarations.push_back(line);
  return true;
}

bool Importer::run(std::string &err) {
  for (const auto &o : model.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx")
      opset = o.version();
  bool ok = declareInputs();
  const onnx::GraphProto &g = model.graph();
  for (const auto &n : g.node()) {
    for (int k = 0; k < n.input_size(); ++k) {
      ++uses[n.input(k)];
      readers[n.input(k)].push_back({&n, k});
    }
    for (const std::string &o : n.output())
      producer[o] = &n;
  }
  for (const auto &o : g.output()) {
    ++uses[o.name()];
    graphOutputs.insert(o.name());
  }
  for (int i = 0; ok && i < g.node_size(); ++i) {
    node = &g.node(i);
    nodeIndex = i;
    if (!node->domain().empty() && node->domain() != "ai.onnx") {
      ok = fail("operators of domain '" + node->domain() +
                "' are not supported");
      break;
    }
    nodeComment = equations.size();
    equations.push_back("# " + node->op_type() + " '" + node->name() + "'");
    ok = translateNode(*this);
    if (ok && nodeComment + 1 == equations.size())
      equations.pop_back(); // a view, a constant or pending: no equation
  }
  node = nullptr;
  nodeComment = SIZE_MAX; // outputs written now follow the last node
  ok = ok && declareOutputs();
  for (const std::string &s : usedSizes)
    sizes.erase(s);
  if (!ok) {
    err = error;
    return false;
  }
  // The .ein text.
  std::ostringstream os;
  os << "# Imported from " << path << " by `cascade import`";
  if (!model.producer_name().empty())
    os << " (written by " << model.producer_name()
       << (model.producer_version().empty() ? "" : " ")
       << model.producer_version() << ")";
  os << ", opset " << opset << ".\n";
  os << "# Each group of equations is one ONNX node; layout operators\n"
        "# (Transpose, Reshape, Slice, ...) are read through as affine "
        "indices.\n\n";
  os << "model " << out.name << "\n";
  os << ranks.declarations();
  if (!stored.empty())
    os << "weights \"" << out.weightsFile << "\"\n";
  // Inputs folded at import (and read only as values) are not inputs.
  std::vector<ImportedTensor> kept;
  std::vector<std::string> folded;
  for (const ImportedTensor &t : out.inputs) {
    bool read = readTensors.count(t.einName);
    bool isFolded =
        std::count(out.folded.begin(), out.folded.end(), t.onnxName);
    if (read)
      kept.push_back(t);
    else if (isFolded)
      folded.push_back(t.onnxName);
    else
      out.unused.push_back(t.onnxName);
  }
  // Inputs with an empty dimension are folded or unusable.
  for (const std::string &name : out.folded)
    if (std::none_of(
            out.inputs.begin(), out.inputs.end(),
            [&](const ImportedTensor &t) { return t.onnxName == name; }))
      folded.push_back(name);
  out.inputs = kept;
  out.folded = folded;
  for (const ImportedTensor &t : out.inputs)
    os << inputDeclarations[t.onnxName] << "\n";
  for (const std::string &d : declarations)
    if (d.rfind("output ", 0) != 0)
      os << d << "\n";
  for (const std::string &e : equations)
    os << (e[0] == '#' ? "\n" : "") << e << "\n";
  os << "\n" << declarations.back() << "\n";
  out.ein = os.str();

  // The safetensors file: header length, JSON header, data.
  std::string header = "{";
  uint64_t offset = 0;
  for (const StoredWeight &w : stored) {
    header += (header.size() > 1 ? "," : "") + std::string("\"") + w.key +
              "\":{\"dtype\":\"F32\",\"shape\":[";
    for (size_t i = 0; i < w.shape.size(); ++i)
      header += (i ? "," : "") + std::to_string(w.shape[i]);
    uint64_t end = offset + 4 * w.data.size();
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," +
              std::to_string(end) + "]}";
    offset = end;
  }
  header += "}";
  while (header.size() % 8)
    header += ' ';
  if (!stored.empty()) {
    std::string &st = out.safetensors;
    uint64_t n = header.size();
    for (int i = 0; i < 8; ++i)
      st += char((n >> (8 * i)) & 0xFF);
    st += header;
    for (const StoredWeight &w : stored)
      st.append(reinterpret_cast<const char *>(w.data.data()),
                4 * w.data.size());
  }
  return true;
}

} // namespace onnx_import

std::string onnxFileStem(const std::string &onnxName) {
  std::string s;
  for (char c : onnxName)
    s += std::isalnum((unsigned char)c) || c == '_' ? c : '_';
  return s;
}

bool importOnnx(const std::string &path, std::map<std::string, double> &sizes,
                const std::map<std::string, std::string> &inputFiles,
                ImportedModel &out, std::string &error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = path + ": error: cannot read the model: " + std::strerror(errno);
    return false;
  }
  std::string data((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  return importOnnxBytes(data, path, sizes, inputFiles, out, error);
}

bool importOnnxBytes(const std::string &data, const std::string &path,
                     std::map<std::string, double> &sizes,
                     const std::map<std::string, std::string> &inputFiles,
                     ImportedModel &out, std::string &error) {
  onnx::ModelProto model;
  if (data.size() > (size_t)INT32_MAX ||
      !model.ParseFromArray(data.data(), (int)data.size())) {
    error = path + ": error: not a valid ONNX model (the protobuf message "
                   "does not parse)";
    return false;
  }
  if (!model.has_graph()) {
    error = path + ": error: the model has no graph";
    return false;
  }
  std::string stem = path;
  if (size_t slash = stem.find_last_of('/'); slash != std::string::npos)
    stem = stem.substr(slash + 1);
  if (size_t dot = stem.rfind('.'); dot != std::string::npos && dot > 0)
    stem = stem.substr(0, dot);
  out.name = onnxFileStem(stem);
  if (out.name.empty() || !std::isalpha((unsigned char)out.name[0]))
    out.name = "m" + out.name;
  out.weightsFile = onnxFileStem(stem) + ".safetensors";
  Importer importer(model, path, sizes, inputFiles, out);
  return importer.run(error);
}

} // namespace cascade
