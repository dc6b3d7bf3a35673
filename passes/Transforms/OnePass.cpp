//===- OnePass.cpp - Softmax contractions to the 1-pass cascade
//------------===//
//
// FuseMax's Cascade 5. The 2-pass form (after deferring the division)
//
//   GM[o]    = X[o,m] :: max(m)          X: any score expression
//   SN[o,m]  = exp(X[o,m] - GM[o])
//   SD[o]    = SN[o,m]
//   SNV[v,m] = SN[o,m] * REST[v,m]       v: the output indices, o among them
//   AV[v]    = SNV[v] / SD[o]
//
// becomes, with m = m1 * T + m0,
//
//   LM[m1,o]      = X[o, m1*T+m0] :: max(m0)
//   RM[m1+1,o]    = max(RM[m1,o], LM[m1,o])             init RM[0,o] = -inf
//   SLN[m1,m0,o]  = exp(X[o, m1*T+m0] - RM[m1+1,o])
//   SLD[m1,o]     = SLN[m1,m0,o]
//   SLNV[m1,v]    = SLN[m1,m0,o] * REST[v, m1*T+m0]
//   PRM[m1,o]     = exp(RM[m1,o] - RM[m1+1,o])
//   RD[m1+1,o]    = SLD[m1,o] + RD[m1,o] * PRM[m1,o]     init RD[0,o] = 0
//   RNV[m1+1,v]   = SLNV[m1,v] + RNV[m1,v] * PRM[m1,o]   init RNV[0,v] = 0
//   AV[v]         = RNV[M1,v] / RD[M1,o]
//
// where reads at m1*T+m0 >= M (a partial last tile) are guarded.
//
//===----------------------------------------------------------------------===//
#include "dialects/Cascade/IR/RankNames.h"
#include "passes/Passes.h"
#include "passes/Strategy/LoweringStrategy.h"
#include "passes/Utils/EinsumBuilder.h"

namespace cascade {
#define GEN_PASS_DEF_CASCADEONEPASS
#include "passes/Passes.h.inc"
} // namespace cascade

using namespace mlir;
using namespace cascade;

namespace {

/// The outer tensor a body read reads.
Value readTensor(EinsumOp op, ReadOp read) {
  return op.getOperandForArg(cast<BlockArgument>(read.getTensor()));
}

/// The single einsum using `v`, if exactly one einsum uses it (once).
EinsumOp soleUser(Value v) {
  if (!v.hasOneUse())
    return {};
  return dyn_cast<EinsumOp>(*v.getUsers().begin());
}

/// The dimension a plain-dim affine expression names.
std::optional<unsigned> plainDim(AffineExpr e) {
  if (auto d = dyn_cast<AffineDimExpr>(e))
    return d.getPosition();
  return std::nullopt;
}

/// Number of reads of `tensor` (an outer value) in `op`'s body.
unsigned countReads(EinsumOp op, Value tensor) {
  unsigned n = 0;
  op.getBody().walk([&](ReadOp r) { n += readTensor(op, r) == tensor; });
  return n;
}

struct Match {
  EinsumOp gm, sn, sd, snv, av;
  unsigned nO = 0; // GM's output indices
  SmallVector<unsigned> snOfO, sdOfO, snvOfO;
  unsigned mSN = 0;
  ReadOp snFactor, avSnvRead, avSdRead;
};

std::optional<Match> matchFrom(EinsumOp gm) {
  Match m;
  m.gm = gm;
  if (gm.getReduction() != "max" || gm.isRecurrence() ||
      gm.getNumLoops() != gm.getNumOutputDims() + 1)
    return std::nullopt;
  m.nO = gm.getNumOutputDims();
  unsigned nO = m.nO;

  // SN = exp(X' - GM), X' the same scores as GM's body.
  m.sn = soleUser(gm.getResult());
  if (!m.sn || m.sn.hasReduction() || m.sn.isRecurrence() ||
      m.sn.getNumLoops() != nO + 1 || countReads(m.sn, gm.getResult()) != 1)
    return std::nullopt;
  auto exp = dyn_cast_or_null<UnaryOp>(m.sn.getYieldedOp());
  if (!exp || exp.getFn() != "exp")
    return std::nullopt;
  auto sub = exp.getOperand().getDefiningOp<BinaryOp>();
  if (!sub || sub.getFn() != "sub")
    return std::nullopt;
  auto gmRead = sub.getRhs().getDefiningOp<ReadOp>();
  if (!gmRead || readTensor(m.sn, gmRead) != gm.getResult())
    return std::nullopt;
  SmallVector<bool> seen(nO + 1, false);
  for (AffineExpr e : gmRead.getMap().getResults()) {
    auto d = plainDim(e);
    if (!d || seen[*d])
      return std::nullopt;
    seen[*d] = true;
    m.snOfO.push_back(*d);
  }
  m.mSN = llvm::find(seen, false) - seen.begin();
  MLIRContext *ctx = gm.getContext();
  SmallVector<AffineExpr> gmToSn, snIdentity;
  for (unsigned k = 0; k < nO; ++k)
    gmToSn.push_back(getAffineDimExpr(m.snOfO[k], ctx));
  gmToSn.push_back(getAffineDimExpr(m.mSN, ctx));
  for (unsigned d = 0; d <= nO; ++d)
    snIdentity.push_back(getAffineDimExpr(d, ctx));
  if (!exprEqual(gm, gm.getYieldedValue(), gmToSn, m.sn, sub.getLhs(),
                 snIdentity, nO + 1))
    return std::nullopt;

  // SN's two readers: SD = sum_m SN and SNV = sum_m SN * REST.
  SmallVector<EinsumOp> users;
  for (Operation *u : m.sn.getResult().getUsers())
    if (auto e = dyn_cast<EinsumOp>(u); e && !llvm::is_contained(users, e))
      users.push_back(e);
    else if (!e)
      return std::nullopt;
  if (users.size() != 2 ||
      !llvm::all_of(m.sn.getResult().getUsers(),
                    [&](Operation *u) { return llvm::is_contained(users, u); }))
    return std::nullopt;
  for (EinsumOp u : users) {
    if (u.getReduction() != "add" || u.isRecurrence() ||
        u.getNumLoops() != u.getNumOutputDims() + 1 ||
        countReads(u, m.sn.getResult()) != 1)
      return std::nullopt;
    unsigned reduced = u.getNumOutputDims();
    // The read of SN: plain indices, m read by the reduced index.
    ReadOp snRead;
    u.getBody().walk([&](ReadOp r) {
      if (readTensor(u, r) == m.sn.getResult())
        snRead = r;
    });
    SmallVector<unsigned> ofO(nO);
    for (auto [j, e] : llvm::enumerate(snRead.getMap().getResults())) {
      auto d = plainDim(e);
      if (!d)
        return std::nullopt;
      if (j == m.mSN) {
        if (*d != reduced)
          return std::nullopt;
        continue;
      }
      auto k = llvm::find(m.snOfO, j) - m.snOfO.begin();
      ofO[k] = *d;
    }
    if (u.getYieldedValue() == snRead.getResult() &&
        u.getNumOutputDims() == nO && !m.sd) {
      m.sd = u;
      m.sdOfO = ofO;
      continue;
    }
    SmallVector<Value> factors;
    collectFactors(u.getYieldedValue(), factors);
    if (!llvm::is_contained(factors, snRead.getResult()) || m.snv)
      return std::nullopt;
    m.snv = u;
    m.snvOfO = ofO;
    m.snFactor = snRead;
  }
  if (!m.sd || !m.snv)
    return std::nullopt;

  // AV = SNV / SD, the only reader of both.
  m.av = soleUser(m.snv.getResult());
  if (!m.av || m.av != soleUser(m.sd.getResult()) || m.av.hasReduction() ||
      m.av.isRecurrence())
    return std::nullopt;
  auto div = dyn_cast_or_null<BinaryOp>(m.av.getYieldedOp());
  if (!div || div.getFn() != "div")
    return std::nullopt;
  m.avSnvRead = div.getLhs().getDefiningOp<ReadOp>();
  m.avSdRead = div.getRhs().getDefiningOp<ReadOp>();
  if (!m.avSnvRead || !m.avSdRead ||
      readTensor(m.av, m.avSnvRead) != m.snv.getResult() ||
      readTensor(m.av, m.avSdRead) != m.sd.getResult())
    return std::nullopt;
  // SD must be read where SNV's o indices are.
  for (unsigned k = 0; k < nO; ++k)
    if (m.avSdRead.getMap().getResult(m.sdOfO[k]) !=
        m.avSnvRead.getMap().getResult(m.snvOfO[k]))
      return std::nullopt;
  return m;
}

void rewrite(Match &m, func::FuncOp func, int64_t tile, bool fitTile) {
  MLIRContext *ctx = func.getContext();
  OpBuilder b(m.av);
  Operation *before = m.av->getPrevNode();
  Location loc = m.av.getLoc();
  unsigned nO = m.nO, nV = m.snv.getNumOutputDims();
  int64_t extent = m.gm.getExtents()[nO];
  // A partial last tile keeps every step of the loop off the kernels (its
  // `where` guards): a smaller tile that divides the extent runs faster.
  int64_t t = fitOnePassTile(tile, extent, fitTile);
  int64_t tiles = (extent + t - 1) / t;
  bool partial = extent % t != 0;
  std::string rank = m.gm.getIndexName(nO).upper();
  // Reuse the split of an earlier rewrite of the same rank and tile.
  auto splitRank = [&](StringRef suffix, int64_t want) {
    std::string name = splitPartName(rank, suffix);
    std::optional<int64_t> have;
    func.walk([&](EinsumOp op) {
      for (unsigned i = 0; i < op.getNumLoops(); ++i)
        if (op.getIndexName(i).upper() == name)
          have = op.getExtents()[i];
    });
    return have == want ? name : freshRankName(func, name);
  };
  std::string rank1 = splitRank("1", tiles);
  std::string rank0 = splitRank("0", t);
  if (rank0 == rank1)
    rank0 = freshRankName(func, splitPartName(rank1, "0"));
  std::string i1 = llvm::StringRef(rank1).lower();
  std::string i0 = llvm::StringRef(rank0).lower();
  std::string base = m.av.getName().str();
  auto name = [&](StringRef suffix) {
    return freshTensorName(func, base + "_" + suffix.str());
  };

  std::vector<std::string> oNames, vNames;
  SmallVector<int64_t> oExt, vExt;
  for (unsigned k = 0; k < nO; ++k) {
    oNames.push_back(m.gm.getIndexName(k).str());
    oExt.push_back(m.gm.getExtents()[k]);
  }
  for (unsigned k = 0; k < nV; ++k) {
    vNames.push_back(m.snv.getIndexName(k).str());
    vExt.push_back(m.snv.getExtents()[k]);
  }
  auto concat = [](std::initializer_list<ArrayRef<std::string>> parts) {
    std::vector<std::string> out;
    for (auto p : parts)
      out.insert(out.end(), p.begin(), p.end());
    return out;
  };
  auto concatExt = [](std::initializer_list<ArrayRef<int64_t>> parts) {
    SmallVector<int64_t> out;
    for (auto p : parts)
      out.append(p.begin(), p.end());
    return out;
  };
  auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
  auto c = [&](int64_t v) { return getAffineConstantExpr(v, ctx); };
  auto dims = [&](unsigned from, unsigned count) {
    SmallVector<AffineExpr> out;
    for (unsigned i = 0; i < count; ++i)
      out.push_back(d(from + i));
    return out;
  };
  // where(m1*T + m0 < M, then, else) when the last tile is partial.
  auto guarded = [&](EinsumBuilder &eb, AffineExpr pos,
                     function_ref<Value()> then, double otherwise) {
    if (!partial)
      return then();
    return eb.where("lt", pos, c(extent), then,
                    [&] { return eb.constant(otherwise); });
  };
  std::vector<std::string> one1 = {i1}, one0 = {i0};
  SmallVector<int64_t> t1 = {tiles}, t0 = {t};
  Value scores = m.gm.getYieldedValue();

  // Scores computed by an einsum that only the softmax reads (QK = Q * K)
  // are recomputed per tile, BS[m1, m0, ...], so the fused loop never holds
  // all of them: S's index m becomes m1*T+m0.
  struct TiledScores {
    EinsumOp source, tiled;
    unsigned mPos; // S's output index that the softmax's m reads
  };
  SmallVector<TiledScores> tiledScores;
  // The producer of an einsum's read along its index `mPos`, when only that
  // einsum reads it and every coordinate is a plain index: tiled too.
  auto tileableProducer =
      [&](EinsumOp user, ReadOp r,
          unsigned mPos) -> std::optional<std::pair<EinsumOp, unsigned>> {
    Value tensor = readTensor(user, r);
    auto src = tensor ? tensor.getDefiningOp<EinsumOp>() : EinsumOp();
    if (!src || src.isRecurrence() ||
        llvm::any_of(tiledScores,
                     [&](const TiledScores &ts) { return ts.source == src; }))
      return std::nullopt;
    std::optional<unsigned> pos;
    for (auto [k, e] : llvm::enumerate(r.getMap().getResults())) {
      auto pd = plainDim(e);
      if (!pd)
        return std::nullopt;
      if (*pd == mPos)
        pos = k;
    }
    if (!pos)
      return std::nullopt;
    return std::make_pair(src, *pos);
  };
  // Tiles `src` along its output index `mPos` (S[.., m, ..] becomes
  // S_T[m1, m0, ..]), and first, when `src` is elementwise, the producers
  // only it reads along that index: a mask in its own equation (QK =
  // where(m <= p, S, -inf)) tiles the scores S under it, so no equation
  // keeps all of them.
  std::function<EinsumOp(EinsumOp, unsigned)> tileSource =
      [&](EinsumOp src, unsigned mPos) -> EinsumOp {
    SmallVector<TiledScores> inner;
    // Only through elementwise equations (masks, scales) down to the first
    // contraction: the operands of the scores' contraction (K = XK + BK)
    // are computed once, not per tile.
    src.getBody().walk([&](ReadOp r) {
      auto p =
          src.hasReduction() ? std::nullopt : tileableProducer(src, r, mPos);
      if (!p || llvm::any_of(inner, [&](const TiledScores &ts) {
            return ts.source == p->first;
          }))
        return;
      if (!llvm::all_of(p->first.getResult().getUsers(),
                        [&](Operation *u) { return u == src.getOperation(); }))
        return;
      inner.push_back({p->first, tileSource(p->first, p->second), p->second});
    });
    unsigned sOut = src.getNumOutputDims();
    std::vector<std::string> names = {i1, i0};
    SmallVector<int64_t> exts = {tiles, t};
    SmallVector<AffineExpr> dimMap(src.getNumLoops());
    dimMap[mPos] = d(0) * t + d(1);
    for (unsigned k = 0, next = 2; k < src.getNumLoops(); ++k) {
      if (k == mPos)
        continue;
      names.push_back(src.getIndexName(k).str());
      exts.push_back(src.getExtents()[k]);
      dimMap[k] = d(next++);
    }
    EinsumBuilder bs(b, loc, name(src.getName().str() + "_T"), names, exts,
                     1 + sOut);
    // Reads of a tiled producer read its tile at (m1, m0, the others).
    auto readInner = [&](Value v) -> Value {
      auto r = v.getDefiningOp<ReadOp>();
      if (!r)
        return {};
      Value tensor = readTensor(src, r);
      for (const TiledScores &ts : inner) {
        if (tensor != EinsumOp(ts.source).getResult())
          continue;
        SmallVector<AffineExpr> at = {d(0), d(1)};
        for (auto [k, e] : llvm::enumerate(r.getMap().getResults()))
          if (k != ts.mPos)
            at.push_back(dimMap[*plainDim(e)]);
        return bs.read(EinsumOp(ts.tiled).getResult(), at);
      }
      return {};
    };
    Value v = guarded(
        bs, d(0) * t + d(1),
        [&] {
          return bs.cloneExpr(src, src.getYieldedValue(), dimMap, readInner);
        },
        0.0);
    EinsumOp tiled = bs.finish(v, src.getReduction());
    tiledScores.append(inner.begin(), inner.end());
    return tiled;
  };
  m.gm.getBody().walk([&](ReadOp r) {
    auto p = tileableProducer(m.gm, r, nO);
    if (!p)
      return;
    Value tensor = p->first.getResult();
    if (!llvm::all_of(tensor.getUsers(), [&](Operation *u) {
          return u == m.gm.getOperation() || u == m.sn.getOperation();
        }))
      return;
    EinsumOp tiled = tileSource(p->first, p->second);
    tiledScores.insert(tiledScores.begin(), {p->first, tiled, p->second});
  });
  // Reads of the scores, for a clone of X with GM's index d at `map[d]` and
  // the tile indices at m1, m0.
  auto tiledRead = [&](EinsumBuilder &eb, ArrayRef<AffineExpr> map,
                       AffineExpr m1, AffineExpr m0) {
    return [&, map = SmallVector<AffineExpr>(map), m1, m0](Value v) -> Value {
      auto r = v.getDefiningOp<ReadOp>();
      if (!r)
        return {};
      Value tensor = readTensor(m.gm, r);
      for (const TiledScores &ts : tiledScores) {
        if (tensor != EinsumOp(ts.source).getResult())
          continue;
        SmallVector<AffineExpr> at = {m1, m0};
        for (auto [k, e] : llvm::enumerate(r.getMap().getResults()))
          if (k != ts.mPos)
            at.push_back(map[*plainDim(e)]);
        return eb.read(EinsumOp(ts.tiled).getResult(), at);
      }
      return {};
    };
  };

  // LM[m1,o] = max over m0 of X[o, m1*T+m0]
  EinsumBuilder lm(b, loc, name("LM"), concat({one1, oNames, one0}),
                   concatExt({t1, oExt, t0}), 1 + nO);
  EinsumOp lmOp;
  {
    SmallVector<AffineExpr> map = dims(1, nO);
    AffineExpr pos = d(0) * t + d(nO + 1);
    map.push_back(pos);
    Value v = guarded(
        lm, pos,
        [&] {
          return lm.cloneExpr(m.gm, scores, map,
                              tiledRead(lm, map, d(0), d(nO + 1)));
        },
        -INFINITY);
    lmOp = lm.finish(v, "max");
    lmOp->setAttr(kRelaxedMaxAttr, b.getUnitAttr());
    lmOp->setAttr(kMaskedStepIdentityAttr, b.getUnitAttr());
  }

  // Recurrences: init over o (or v), step over [m1, o].
  auto recurrence = [&](StringRef suffix, ArrayRef<std::string> names,
                        ArrayRef<int64_t> ext, double initValue,
                        function_ref<Value(EinsumBuilder &)> step) {
    std::string n = name(suffix);
    EinsumBuilder init(b, loc, n, names, ext, names.size());
    EinsumOp initOp = init.finish(init.constant(initValue));
    EinsumBuilder rec(b, loc, n, concat({one1, names}), concatExt({t1, ext}),
                      1 + names.size());
    rec.makeRecurrence(0, initOp.getResult());
    return rec.finish(step(rec));
  };
  EinsumOp rm =
      recurrence("RM", oNames, oExt, -INFINITY, [&](EinsumBuilder &e) {
        SmallVector<AffineExpr> at = dims(0, 1 + nO);
        return e.binary("max", e.readSelf(at), e.read(lmOp.getResult(), at));
      });

  // SLN[m1,m0,o] = exp(X[o, m1*T+m0] - RM[m1+1,o])
  EinsumBuilder sln(b, loc, name("SLN"), concat({one1, one0, oNames}),
                    concatExt({t1, t0, oExt}), 2 + nO);
  EinsumOp slnOp;
  {
    SmallVector<AffineExpr> map = dims(2, nO);
    AffineExpr pos = d(0) * t + d(1);
    map.push_back(pos);
    SmallVector<AffineExpr> rmAt = {d(0) + 1};
    rmAt.append(dims(2, nO));
    Value v = guarded(
        sln, pos,
        [&] {
          Value x =
              sln.cloneExpr(m.gm, scores, map, tiledRead(sln, map, d(0), d(1)));
          return sln.unary(
              "exp", sln.binary("sub", x, sln.read(rm.getResult(), rmAt)));
        },
        0.0);
    slnOp = sln.finish(v);
  }

  // SLD[m1,o] = sum over m0 of SLN[m1,m0,o]
  EinsumBuilder sld(b, loc, name("SLD"), concat({one1, oNames, one0}),
                    concatExt({t1, oExt, t0}), 1 + nO);
  SmallVector<AffineExpr> sldAt = {d(0), d(nO + 1)};
  sldAt.append(dims(1, nO));
  EinsumOp sldOp = sld.finish(sld.read(slnOp.getResult(), sldAt));

  // SLNV[m1,v] = sum over m0 of SLN[m1,m0,o] * REST[v, m1*T+m0]
  EinsumBuilder slnv(b, loc, name("SLNV"), concat({one1, vNames, one0}),
                     concatExt({t1, vExt, t0}), 1 + nV);
  EinsumOp slnvOp;
  {
    SmallVector<AffineExpr> map = dims(1, nV);
    AffineExpr pos = d(0) * t + d(nV + 1);
    map.push_back(pos);
    SmallVector<AffineExpr> slnAt = {d(0), d(nV + 1)};
    for (unsigned k = 0; k < nO; ++k)
      slnAt.push_back(d(1 + m.snvOfO[k]));
    Value v = guarded(
        slnv, pos,
        [&] {
          return slnv.cloneExpr(m.snv, m.snv.getYieldedValue(), map,
                                [&](Value s) -> Value {
                                  if (s == m.snFactor.getResult())
                                    return slnv.read(slnOp.getResult(), slnAt);
                                  return {};
                                });
        },
        0.0);
    slnvOp = slnv.finish(v);
  }

  // PRM[m1,o] = exp(RM[m1,o] - RM[m1+1,o])
  EinsumBuilder prm(b, loc, name("PRM"), concat({one1, oNames}),
                    concatExt({t1, oExt}), 1 + nO);
  SmallVector<AffineExpr> prev = dims(0, 1 + nO), next = {d(0) + 1};
  next.append(dims(1, nO));
  EinsumOp prmOp = prm.finish(
      prm.unary("exp", prm.binary("sub", prm.read(rm.getResult(), prev),
                                  prm.read(rm.getResult(), next))));

  EinsumOp rd = recurrence("RD", oNames, oExt, 0.0, [&](EinsumBuilder &e) {
    SmallVector<AffineExpr> at = dims(0, 1 + nO);
    return e.binary(
        "add", e.read(sldOp.getResult(), at),
        e.binary("mul", e.readSelf(at), e.read(prmOp.getResult(), at)));
  });
  EinsumOp rnv = recurrence("RNV", vNames, vExt, 0.0, [&](EinsumBuilder &e) {
    SmallVector<AffineExpr> at = dims(0, 1 + nV), prmAt = {d(0)};
    for (unsigned k = 0; k < nO; ++k)
      prmAt.push_back(d(1 + m.snvOfO[k]));
    return e.binary(
        "add", e.read(slnvOp.getResult(), at),
        e.binary("mul", e.readSelf(at), e.read(prmOp.getResult(), prmAt)));
  });

  // AV[v] = RNV[M1, v] / RD[M1, o]
  std::vector<std::string> avNames;
  for (unsigned i = 0; i < m.av.getNumLoops(); ++i)
    avNames.push_back(m.av.getIndexName(i).str());
  EinsumBuilder av(b, loc, m.av.getName(), avNames, m.av.getExtents(),
                   m.av.getNumOutputDims());
  SmallVector<AffineExpr> identity = dims(0, m.av.getNumLoops());
  Value q = av.cloneExpr(
      m.av, m.av.getYieldedValue(), identity, [&](Value v) -> Value {
        if (v == m.avSnvRead.getResult()) {
          SmallVector<AffineExpr> at = {c(tiles)};
          llvm::append_range(at, m.avSnvRead.getMap().getResults());
          return av.read(rnv.getResult(), at);
        }
        if (v == m.avSdRead.getResult()) {
          SmallVector<AffineExpr> at = {c(tiles)};
          for (unsigned k = 0; k < nO; ++k)
            at.push_back(m.avSdRead.getMap().getResult(m.sdOfO[k]));
          return av.read(rd.getResult(), at);
        }
        return {};
      });
  EinsumOp result = av.finish(q);
  inheritMarks(m.av, before);
  m.av.getResult().replaceAllUsesWith(result.getResult());
  for (EinsumOp dead : {m.av, m.snv, m.sd, m.sn, m.gm})
    dead.erase();
  // Users before their producers (a mask before the scores it reads).
  llvm::sort(tiledScores, [](const TiledScores &a, const TiledScores &b) {
    return b.source->isBeforeInBlock(a.source);
  });
  for (TiledScores &ts : tiledScores)
    if (ts.source.getResult().use_empty())
      ts.source.erase();
}

struct OnePass : public cascade::impl::CascadeOnePassBase<OnePass> {
  using CascadeOnePassBase::CascadeOnePassBase;
  void runOnOperation() override {
    if (tile < 1) {
      getOperation().emitError("cascade-one-pass: tile must be positive");
      return signalPassFailure();
    }
    getOperation().walk([&](func::FuncOp func) {
      deferDivisions(func);
      for (bool changed = true; changed;) {
        changed = false;
        for (EinsumOp op : llvm::to_vector(func.getOps<EinsumOp>()))
          if (auto m = matchFrom(op);
              m &&
              (rank.empty() || m->gm.getIndexName(m->nO).upper() == rank)) {
            rewrite(*m, func, tile, fitTile);
            changed = true;
            break;
          }
      }
    });
  }
};

} // namespace
