//===- ContractionKernels.h - Register-tiled contractions -------*- C++ -*-===//
#ifndef CASCADE_PASSES_CONVERSION_CONTRACTIONKERNELS_H
#define CASCADE_PASSES_CONVERSION_CONTRACTIONKERNELS_H

#include "dialects/Cascade/IR/CascadeOps.h"
#include "mlir/IR/Builders.h"
#include <functional>

namespace cascade {

/// Lowers a contraction `C[...] = c * A[...] * B[...] / d` summed over its
/// reduced indices (c, d constant expressions) to a register-tiled
/// micro-kernel on vector<8xf32> (vector<16xf32> with 32 registers): an MR
/// x NR tile of accumulators stays in registers while the reduction loops
/// stream A and B. Two shapes:
///  - broadcast: B contiguous along the output's last index n (A broadcast,
///    whole rows of B multiply-added: the BLAS kernel; B along a reduced
///    index is transposed into panels first), MR up to 6 rows with a short
///    last block, the innermost reduction loop unrolled
///    `KernelMachine::kUnroll` times;
///  - dot: vector lanes along a reduced index k that both operands read (an
///    operand whose last index is not k is packed first), lanes reduced at
///    the end.
/// The kernel writes every element of `out`. On a contraction it does not
/// handle it returns failure and emits nothing.
/// Maps a buffer and the coordinates of a tensor element to the buffer's
/// indices (for buffers that hold part of their tensor, in fused loops).
using BufferRemap = std::function<llvm::SmallVector<mlir::Value>(
    mlir::OpBuilder &, mlir::Value, llvm::SmallVector<mlir::Value>)>;

/// Part of one index's range: [base, base + extent).
struct IndexRange {
  mlir::Value base;
  int64_t extent = 0;
};

/// A register tile as the broadcast-form kernel stores it, for an epilogue:
/// `vectors[i * cols + j]` holds row `m` = at[m] + i, columns `n` = at[n] +
/// j * lanes and on (the final, scaled sums), and `at` is the point of its
/// first element in the einsum's output coordinates (absolute; index 0 the
/// step inside a fused loop).
struct KernelTile {
  unsigned m, n;
  int64_t rows, cols, lanes;
  llvm::ArrayRef<mlir::Value> vectors;
  llvm::ArrayRef<mlir::Value> at;
};
using TileEpilogue = std::function<void(mlir::OpBuilder &, const KernelTile &)>;

/// Replaces the kernel's store of one vector of final sums: `at` is the
/// absolute output point of its first lane, the lanes run along the
/// einsum's last output index. A kernel given one never touches its own
/// output buffer; it sets `*used` when it took the hook (the broadcast
/// forms without reduction blocks), else it stores as usual.
struct TileStore {
  std::function<void(mlir::OpBuilder &, llvm::ArrayRef<mlir::Value> at,
                     mlir::Value vector)>
      store;
  bool *used = nullptr;
  explicit operator bool() const { return (bool)store; }
};

/// What the kernels need to know of the CPU.
struct KernelMachine {
  int64_t registers = 16;    // vector registers: size the register tile
  int64_t l2Bytes = 1 << 20; // L2 cache of one core: sizes reduction blocks
  int64_t kUnroll = 4;       // unroll of the broadcast form's k loop (1: none)
  /// The register tile and reduction block the configuration fixes
  /// (whyKernelChoiceFails checks them first): 0 derives `mr` and `nr`, a
  /// negative `kc` derives the reduction block.
  int64_t mr = 0, nr = 0, kc = -1;
};

/// The micro-kernel lowerContractionKernel emits for a contraction: its
/// form, register tile (`mr` rows x `nr` vectors of `lanes`) and reduction
/// block `kc` (0: none). The strategy records it (`#cascade.lowering`).
struct KernelChoice {
  KernelForm form = KernelForm::None;
  int64_t mr = 0, nr = 0, lanes = 0, kc = 0;
};

/// The kernel lowerContractionKernel would emit for `op` over `extents`
/// (empty: op's own), with index 0 fixed to an enclosing loop's step
/// (`fixed0`) and ranges restricting indices (`restricted`); none where no
/// kernel matches.
std::optional<KernelChoice>
chooseContractionKernel(EinsumOp op, const KernelMachine &machine,
                        llvm::ArrayRef<int64_t> extents = {},
                        bool fixed0 = false, bool restricted = false);

/// Why the kernel `want` (a configuration's form, register tile and
/// reduction block) cannot compute `op` over `extents`; empty when it can.
/// The form must be the one the contraction matches, the lanes that
/// form's, the rows between 1 and 16, the vector columns (times the lanes,
/// except in the dot form) must divide the output's last extent, and only
/// a broadcast kernel without constant factors over one reduced index can
/// block its reduction (`kc` > 0).
std::string whyKernelChoiceFails(EinsumOp op, const KernelChoice &want,
                                 const KernelMachine &machine,
                                 llvm::ArrayRef<int64_t> extents = {},
                                 bool fixed0 = false, bool restricted = false);

/// `machine` describes the target CPU. With `step`, index 0 is fixed to it (the
/// step of an enclosing fused loop; the broadcast form only, with reads such as
/// `K[e, 32*m1 + m0]`), and `remap` translates coordinates to buffer indices.
/// `ranges` (one per index, or empty) restricts indices to part of their
/// range (extent 0: the whole), as enclosing shared loops select: the kernel
/// then computes that part of the output only. `epilogue`, when given, is
/// called once per register tile after its store, with the tile's final
/// sums; kernels of other shapes (the dot form, blocked reductions) do not
/// call it. `tileStore`, when given, replaces the stores (see TileStore).
mlir::LogicalResult lowerContractionKernel(
    mlir::OpBuilder &b, EinsumOp op, mlir::Value out,
    llvm::ArrayRef<mlir::Value> inputs, bool parallel,
    const KernelMachine &machine, mlir::Value step = {},
    const BufferRemap &remap = nullptr, llvm::ArrayRef<IndexRange> ranges = {},
    const TileEpilogue &epilogue = nullptr, const TileStore &tileStore = {});

/// Transposes a lanes x lanes block in registers: `loadRow(b, r)` gives row
/// r (a vector of lanes elements), `storeColumn(b, c, v)` receives column c.
/// The transposed weight panels and the transpose kernel both use it.
void transposeBlock(
    mlir::OpBuilder &b, mlir::Location loc, int64_t lanes,
    llvm::function_ref<mlir::Value(mlir::OpBuilder &, int64_t)> loadRow,
    llvm::function_ref<void(mlir::OpBuilder &, int64_t, mlir::Value)>
        storeColumn);

/// Lowers `C[..., p, ..., n] = T[..., n, ..., p]` (a plain read whose last
/// coordinate is an output index other than the last) as copies of
/// lanes x lanes blocks through a register transpose. Fails, emitting
/// nothing, for other equations or extents that are not multiples of lanes.
/// Whether lowerTransposeKernel takes `op` with blocks of `lanes`.
bool matchesTransposeKernel(EinsumOp op, int64_t lanes);

mlir::LogicalResult lowerTransposeKernel(mlir::OpBuilder &b, EinsumOp op,
                                         mlir::Value out,
                                         llvm::ArrayRef<mlir::Value> inputs,
                                         bool parallel, int64_t lanes,
                                         const BufferRemap &remap);

} // namespace cascade

#endif
