//===- Passes.td - Cascade passes --------------------------*- tablegen -*-===//
#ifndef CASCADE_PASSES_TD
#define CASCADE_PASSES_TD

include "mlir/Pass/PassBase.td"

def CascadeChooseStrategy : Pass<"cascade-choose-strategy", "mlir::ModuleOp"> {
  let summary = "Decide how each equation executes (#cascade.lowering)";
  let description = [{
    The strategy: for each `cascade.einsum` of each model function (and of
    each outlined layer), decides how it executes and records it as the
    discardable attribute `cascade.lowering = #cascade.lowering<...>`
    (CascadeAttrs.td, LoweringStrategy.h): a micro-kernel (its form,
    register tile and reduction block), the schedule's tile loops around
    one, a transpose kernel, or a loop nest; whether it runs on the thread
    pool; the fusion groups it belongs to (a recurrence group's steps, the
    shared loops around it, a schedule's `fuse` group) with their shared
    loops; the elementwise equation computed in its kernel's stores; and,
    for a contraction without a kernel, why. The default heuristic and the
    schedule's directives both decide here; cascade-lower-to-loops carries
    the configuration out. Functions already on buffers are skipped.
  }];
  let options = [
    Option<"parallel", "parallel", "bool", /*default=*/"true",
           "Run large nests and kernels on the thread pool">,
    Option<"kernels", "kernels", "bool", /*default=*/"true",
           "Use register-tiled micro-kernels for contractions and copies">,
    Option<"fuseRecurrences", "fuse-recurrences", "bool", /*default=*/"true",
           "Run each recurrence group (the 1-pass cascade) as one loop over "
           "its iterative index, keeping one step of its tensors">,
    Option<"tileRecurrences", "tile-recurrences", "bool", /*default=*/"true",
           "Run each fused recurrence group and its readers inside shared, "
           "parallel loops over heads and query tiles">,
    Option<"registers", "registers", "int64_t", /*default=*/"16",
           "Vector registers of the target (16 for AVX2/NEON, 32 for AVX-512 "
           "and SVE): sizes the kernels' register tiles">,
    Option<"l2Bytes", "l2-bytes", "int64_t", /*default=*/"1048576",
           "L2 cache of one core, in bytes: decides whether a long "
           "reduction is cut into blocks">,
    Option<"target", "target", "std::string", /*default=*/"\"cpu\"",
           "cpu, or gpu: the GPU targets' strategy, one thread per output "
           "(no micro-kernels, thread pool or fused recurrence loops)">
  ];
}

def CascadeLowerToLoops : Pass<"cascade-lower-to-loops", "mlir::ModuleOp"> {
  let summary = "Lower cascade.einsum ops to scf loop nests over memrefs";
  let description = [{
    Rewrites each model function (`cascade.model`) from tensors to memrefs:
    inputs and weights become read-only buffer arguments, outputs become
    out-parameter buffers after them, and the function returns nothing.
    Each `cascade.einsum` becomes a loop nest that accumulates its body
    into its buffer (identity-initialized for reductions). Recurrences
    iterate their iterative index outermost, sequentially. The innermost
    loop is the index along which the most accesses are contiguous, so
    LLVM's loop vectorizer can vectorize it; a reduced index wins a tie with
    the output index (a row sum then accumulates in a register).
    `cascade.where` becomes an `arith.select` when both branches may be
    evaluated everywhere, and an `scf.if` when a branch holds a read that is
    only in range under the condition. The IEEE exceptions of LANGUAGE.md
    section 3 (`-inf - -inf` is `-inf`, `0 / 0` is 0) are materialized as
    selects. With `parallel` (the default), the outermost loop of a large
    nest over an output index becomes an `scf.parallel`: its iterations
    write disjoint outputs. With `kernels` (the default), a contraction of
    two plain reads (times constant factors, over a constant divisor) gets
    a register-tiled vector<8xf32> micro-kernel (vector<16xf32> with 32
    registers; ContractionKernels.h; its k loop unrolled `k-unroll` times)
    instead of the loop nest, and an elementwise equation that only reads
    its result at the same point (bias, GELU, residual) is computed in the
    kernel's stores, on its register vectors, so that the result is never
    stored; a copy that moves the last index (`C[p,n] = T[n,p]`) is done in
    register-transposed blocks. With `fuse-recurrences` (the default), a recurrence group (the equations
    whose first index is a recurrence's iterative index m1, as the 1-pass
    cascade writes them) runs as one loop over m1 when all reads among them
    are at the same step: its per-step tensors keep one step, its
    recurrences one or two positions. With `tile-recurrences` (the
    default), such a group and the equations that read its final values
    (the 1-pass attention's AV) run inside shared loops over the ranks
    they all have as output indices and read at the same index (heads,
    query tiles): one multi-dimensional scf.parallel whose iterations each
    run the m1 loop on buffers of one tile (the FlashAttention loop nest),
    with the micro-kernels computing each tile's contractions. The rank
    that is innermost in some equation is tiled by 64, 32 or 16 (a divisor
    of its extent; else not shared), the others fixed per iteration.

    The loop directives of the model's schedule (`cascade.schedule`, see
    LoopNest.h) take over the loops of the equations they name: `split`
    tiles a rank (remainder tile included), `order` orders the loops of an
    equation or group (unnamed loops follow, in the default order; split
    ranks put their tile loops outside by default), `parallel` runs the
    outermost named loop over an output index on the thread pool,
    `vectorize` moves a loop innermost and marks it for LLVM's vectorizer,
    `unroll` unrolls it. `fuse A..B as G` runs the group's equations inside
    shared outer loops: the leading loops of G's order that every equation
    of G has as an output index and reads from the others at the same
    index (by default the first such rank); a group that cannot share one
    is a located error. An equation the schedule shapes is lowered by its
    loop nest, not by a micro-kernel.
  }];
  let dependentDialects = [
    "mlir::affine::AffineDialect", "mlir::arith::ArithDialect",
    "mlir::math::MathDialect", "mlir::memref::MemRefDialect",
    "mlir::scf::SCFDialect", "mlir::func::FuncDialect",
    "mlir::vector::VectorDialect", "mlir::LLVM::LLVMDialect"
  ];
  let options = [
    Option<"parallel", "parallel", "bool", /*default=*/"true",
           "Make the outermost output loop of large nests an scf.parallel">,
    Option<"kernels", "kernels", "bool", /*default=*/"true",
           "Lower matching contractions to register-tiled vector kernels">,
    Option<"fuseRecurrences", "fuse-recurrences", "bool", /*default=*/"true",
           "Run each recurrence group (the 1-pass cascade) as one loop over "
           "its iterative index, keeping one step of its tensors">,
    Option<"tileRecurrences", "tile-recurrences", "bool", /*default=*/"true",
           "Run each fused recurrence group and its readers inside shared, "
           "parallel loops over heads and query tiles">,
    Option<"registers", "registers", "int64_t", /*default=*/"16",
           "Vector registers of the target (16 for AVX2/NEON, 32 for AVX-512 "
           "and SVE): sizes the kernels' register tiles">,
    Option<"l2Bytes", "l2-bytes", "int64_t", /*default=*/"1048576",
           "L2 cache of one core, in bytes: decides whether a long "
           "reduction is cut into blocks">,
    Option<"kUnroll", "k-unroll", "int64_t", /*default=*/"4",
           "Unroll factor of the broadcast kernels' innermost reduction "
           "loop (1: not unrolled)">,
    Option<"steps", "steps", "bool", /*default=*/"false",
           "Tag each step's top-level ops (an equation, or a group run as "
           "one) for cascade-profile-steps">
  ];
}

def CascadeProfileSteps : Pass<"cascade-profile-steps", "mlir::ModuleOp"> {
  let summary = "Time each step of the lowered model into counters";
  let description = [{
    Runs after `cascade-lower-to-loops{steps=true}`, which tags the
    top-level ops of each step (an equation, or a group it runs as one: a
    micro-kernel with its epilogue, a fused recurrence group) with
    `cascade.step` and lists the steps on the function (`cascade.steps`:
    name, equations, FLOPs). Each step's span is bracketed by two calls of
    `__cascade_profile_now` (CLOCK_MONOTONIC through libc's
    `clock_gettime`), and the elapsed nanoseconds and one call are added
    atomically to the step's pair of i64 counters in the module global
    `__cascade_profile`. The module gets `cascade.profile_steps`, the steps
    in counter order with their function, for the manifest. The tags are
    removed. `cascade run --profile` and `cascade compile --profile`
    compile with this pass; the runtime reports the counters
    (`cascade_model_profile_format`).
  }];
  let dependentDialects = ["mlir::LLVM::LLVMDialect"];
}

def CascadeOrientContractions
    : Pass<"cascade-orient-contractions", "mlir::ModuleOp"> {
  let summary = "Choose the layouts of contractions and their operands for "
                "the CPU kernels";
  let description = [{
    The CPU contraction kernels vectorize along the output's last index `n`
    and transpose, panel by panel and on every call, an operand that carries
    `n` but runs along a reduced index (a weight `W[n,k]`). When the other
    operand and the result together are at most half its size (activations
    `X[p,k]` of 128 tokens against a BERT weight), the equation is computed
    with `p` moved last and copied back:

        C[p,n] = X[p,k] * W[n,k]   ->   C_T[n,p] = X[p,k] * W[n,k]
                                        C[p,n]   = C_T[n,p]

    The same applies, whatever the sizes, when the other operand carries a
    batch index the weight lacks (`XQ[h,e,p] = X[p,d] * WQ[h,e,d]`: X's
    panels would be transposed again for every head). Then an operand the
    kernels would read across its rows (`AV[h,e,p]` in `AO[p,d] =
    AV[h,e,p] * WO[d,h,e]`) is copied once with its reduced indices last.

    Applies to `+`-reductions of two plain reads (times constants) whose
    moved indices are multiples of `lanes`; equations a schedule touches or
    puts in a `fuse` group stay as written. Run by the CPU targets when
    their contraction kernels are on, right before lowering to loops.
  }];
  let options = [
    Option<"lanes", "lanes", "int64_t", /*default=*/"16",
           "The moved index must be a multiple of this (the kernels' vector "
           "lanes)">
  ];
}

def CascadeMathApproximation : Pass<"cascade-math-approximation"> {
  let summary = "Replace transcendental math ops by vectorizable polynomials";
  let description = [{
    Rewrites `math.exp`, `math.log`, `math.tanh`, `math.erf` (and the other
    functions upstream approximates) into arithmetic with upstream MLIR's
    polynomial approximations, so that loops calling them vectorize without
    a vector math library. Special values keep their meaning
    (`exp(-inf) = 0`), which masked softmax relies on.

    `erf` is one rational function on x clamped to [-4, 4] (Eigen's and
    XLA's f32 form) instead of upstream's three polynomials chosen per
    lane: no blends, and few enough constants to stay in registers in a
    GEMM's GELU epilogue.

    With `scale-exp` (set for x86-64 CPUs with AVX-512), a scalar f32 `exp`
    scales its polynomial by 2^k with `llvm.intr.ldexp` instead of building
    2^k from its bits: after vectorization that is one `vscalefps`, and the
    range checks upstream needs on k go away (18 instructions instead of
    20).
  }];
  let options = [
    Option<"scaleExp", "scale-exp", "bool", /*default=*/"false",
           "exp scales by 2^k with llvm.ldexp (for targets where a vector "
           "ldexp is one instruction: AVX-512's vscalefps)">,
    Option<"expandPow", "expand-pow", "bool", /*default=*/"false",
           "powf with a run-time exponent becomes exp(y log|x|) with C's "
           "special cases (for GPUs, which have no libm pow)">
  ];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::LLVM::LLVMDialect",
                           "mlir::math::MathDialect",
                           "mlir::vector::VectorDialect"];
}

def CascadeDeferDivision : Pass<"cascade-defer-division", "mlir::ModuleOp"> {
  let summary = "Divide after a contraction instead of before it";
  let description = [{
    Finds a `+`-reduction one of whose top-level factors reads an
    elementwise quotient `A = N / D` whose denominator does not depend on
    the reduced indices, and rewrites

        A[m,p]  = N[m,p] / D[p]
        AV[f,p] = A[m,p] * V[f,m]

    into

        AV_N[f,p] = N[m,p] * V[f,m]
        AV[f,p]   = AV_N[f,p] / D[p]

    It also hoists a divisor written inside the reduction
    (`AV[f,p] = SN[m,p] * V[f,m] / SD[p]`, the one-equation form) when the
    divisor reads a tensor and does not depend on the reduced indices; a
    constant divisor stays where it is (the contraction kernels apply it
    once).

    (sum_m n/d * v = (sum_m n * v) / d): F x P divisions instead of M x P,
    and one pass less over M for softmax attention (FlashAttention-2's
    deferred normalization). The quotient stays if something else reads it.
  }];
}

def CascadeOutlineLayers : Pass<"cascade-outline-layers", "mlir::ModuleOp"> {
  let summary = "Compile identical layer calls once";
  let description = [{
    The frontend expands every layer call (`X1 = encoder(X0) prefix ...`) into
    the model's equations and marks each equation of a top-level call with
    `cascade.call = "DEF#N"`. For every `def` called at least `min-calls`
    times at the top level, this pass moves each call's equations into a
    private function (`@MODEL_DEF`, marked `cascade.layer`) whose arguments
    are the tensors the call reads (its inputs, then weights, in order of
    first use) and whose results are the call's tensors read outside it, and
    replaces them by a `func.call`. Calls whose functions are identical up to
    equation names share one function, so a 12-layer encoder lowers, and is
    compiled, once; each call binds its own weights. A call that differs
    (a rewrite fired differently) gets a function of its own. The model
    function's operations are then put back in dependence order.

    Runs before cascade-lower-to-loops on the CPU targets; the analyses,
    the rewrites and the reference interpreter see the expanded cascade. A
    model with schedule loop directives keeps its calls inline (the
    directives name the expanded equations).
  }];
  let options = [
    Option<"minCalls", "min-calls", "unsigned", "2",
           "outline a layer called at least this many times">
  ];
  let dependentDialects = ["mlir::func::FuncDialect"];
}

def CascadeOnePass : Pass<"cascade-one-pass", "mlir::ModuleOp"> {
  let summary = "Rewrite softmax-normalized contractions into the 1-pass cascade";
  let description = [{
    Finds every softmax-normalized contraction (max-reduce the scores over
    an index m, exponentiate their difference, sum-reduce, normalize,
    contract over m: any batch, head or group indices, any masks, any names
    and index order) and rewrites it into FuseMax's 1-pass cascade
    (Cascade 5): m is split into tiles m1 * tile + m0, a running max RM over
    the iterative index m1 rescales a running denominator RD and a running
    numerator RNV, and the result is RNV[last] / RD[last]. The division is
    deferred first (cascade-defer-division). When the tile does not divide
    the extent, the last tile reads its missing positions as -inf (scores)
    and 0 (values). Fully masked rows stay 0 (-inf - -inf = -inf, 0/0 = 0).
  }];
  let options = [
    Option<"tile", "tile", "int64_t", /*default=*/"32",
           "Extent of the inner tile m0 of the split index">,
    Option<"rank", "rank", "std::string", /*default=*/"\"\"",
           "Only rewrite softmaxes over an index of this rank (all if empty)">,
    Option<"fitTile", "fit-tile", "bool", /*default=*/"false",
           "Halve the tile (not below 32) until it divides the extent, so "
           "that every step is a full tile">
  ];
}

def CascadePassCount : Pass<"cascade-pass-count", "mlir::ModuleOp"> {
  let summary = "Annotate each model with FuseMax's pass count per rank";
  let description = [{
    Attaches `cascade.passes = {M = 3 : i64, P = 1 : i64, ...}` to every
    model function: for each rank, how many passes over its fibers the
    cascade's dependences need (passes/Analysis/CascadeAnalysis.h gives the
    definition). `cascade analyze` prints the same counts with FLOPs and
    bytes.
  }];
}

def CascadeParallelizeNests : Pass<"cascade-parallelize-nests",
                                   "mlir::func::FuncOp"> {
  let summary = "Turn each top-level loop nest into one scf.parallel";
  let description = [{
    Prepares loop-level IR (after `cascade-lower-to-loops`) for a GPU: every
    top-level loop nest of the function becomes one `scf.parallel` over the
    loops of its perfectly nested chain whose iterations are independent,
    hoisted outermost; the other loops stay sequential inside, in their
    order. A loop is independent when every access to every buffer the nest
    writes indexes some dimension with the loop's induction variable itself:
    different iterations then touch disjoint slices.

    Top-level code that no such loop covers (a nest with no independent
    loop, a scalar store) runs as a one-iteration `scf.parallel`: a
    one-thread kernel, correct but slow. Allocations move to the top of the
    function and deallocations to its end (scratch buffers live through the
    whole run); `memref.copy` becomes an element-wise parallel loop. Nested
    `scf.parallel` loops are made sequential first. The result: a function
    of constants, allocations, `scf.parallel` ops and deallocations.
  }];
  let dependentDialects = ["mlir::scf::SCFDialect",
                           "mlir::memref::MemRefDialect"];
}

def CascadeGpuRegisterTile : Pass<"cascade-gpu-register-tile",
                                  "mlir::func::FuncOp"> {
  let summary = "Accumulators in registers and a register tile of outputs "
                "per GPU thread";
  let description = [{
    Runs on the kernel-sized `scf.parallel` loops of
    `cascade-parallelize-nests`. First promotes accumulators: a load and a
    store of one element at loop-invariant indices, the only accesses to
    that buffer in an `scf.for`, become a loop-carried value (innermost
    loops first). Then, where the parallel body is one reduction loop with
    invariant bounds, unrolls the last one or two parallel dimensions by
    `tile` and jams the copies into one reduction loop, so each thread
    computes a `tile` x `tile` block of outputs and shares the operands it
    loads between them. A dimension is tiled only when `tile` divides its
    trip count and at least `min-threads` threads remain.
  }];
  let options = [
    Option<"tile", "tile", "int64_t", /*default=*/"4",
           "Outputs per thread along each tiled dimension (1: only promote)">,
    Option<"minThreads", "min-threads", "int64_t", /*default=*/"1024",
           "Threads a tiled kernel must keep">
  ];
  let dependentDialects = ["mlir::scf::SCFDialect",
                           "mlir::arith::ArithDialect",
                           "mlir::memref::MemRefDialect"];
}

def CascadeGpuDistribute : Pass<"cascade-gpu-distribute",
                                "mlir::func::FuncOp"> {
  let summary = "Collapse and tile top-level scf.parallel loops for a GPU";
  let description = [{
    Collapses each top-level `scf.parallel` into one dimension (the last
    dimension fastest, so neighbouring threads touch neighbouring elements)
    and tiles it by `block-size`: the outer loop runs over thread blocks,
    the inner one over the threads of a block, guarded by `scf.if` when the
    block size does not divide the trip count. `gpu-map-parallel-loops`
    then maps them to the grid and the block.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", /*default=*/"256",
           "Threads per block (at most 1024)">
  ];
  let dependentDialects = ["mlir::scf::SCFDialect",
                           "mlir::arith::ArithDialect"];
}

def CascadeMathToLLVMIntrinsics : Pass<"cascade-math-to-llvm-intrinsics"> {
  let summary = "Call generic LLVM intrinsics for the f32 math ops left in "
                "GPU kernels";
  let description = [{
    Rewrites `math.absf`, `ceil`, `floor`, `fma`, `sqrt`, `rsqrt` (as
    1/sqrt), `copysign` and `roundeven` on f32 into `llvm.call_intrinsic`
    of the generic intrinsics (`llvm.floor.f32`, ...), which the NVPTX
    backend lowers to single instructions. Run it in GPU modules before
    `convert-gpu-to-nvvm`, which would otherwise call libdevice, a part of
    the CUDA toolkit the compiler does not need.
  }];
  let dependentDialects = ["mlir::LLVM::LLVMDialect",
                           "mlir::arith::ArithDialect"];
}

#endif // CASCADE_PASSES_TD
