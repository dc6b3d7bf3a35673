//===- CascadeAttrs.td - The lowering configuration --------*- tablegen -*-===//
//
// `#cascade.lowering<...>`: how one equation executes, as the strategy
// (cascade-choose-strategy) decided it and the lowering
// (cascade-lower-to-loops) carries it out. docs/passes.md, "The strategy".
//
//===----------------------------------------------------------------------===//
#ifndef CASCADE_ATTRS_TD
#define CASCADE_ATTRS_TD

include "CascadeDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

def Cascade_Execution : I32EnumAttr<"Execution",
    "how an equation's loops are built", [
  I32EnumAttrCase<"Nest", 0, "nest">,
  I32EnumAttrCase<"ScheduledNest", 1, "scheduled_nest">,
  I32EnumAttrCase<"Kernel", 2, "kernel">,
  I32EnumAttrCase<"TiledKernel", 3, "tiled_kernel">,
  I32EnumAttrCase<"TransposeKernel", 4, "transpose_kernel">,
  I32EnumAttrCase<"InProducer", 5, "in_producer">,
  I32EnumAttrCase<"InitFolded", 6, "init_folded">
]> {
  let cppNamespace = "::cascade";
  let genSpecializedAttr = 0;
}

def Cascade_KernelForm : I32EnumAttr<"KernelForm",
    "the shape of a contraction micro-kernel", [
  I32EnumAttrCase<"None", 0, "none">,
  I32EnumAttrCase<"Broadcast", 1, "broadcast">,
  I32EnumAttrCase<"TransposedPanel", 2, "transposed_panel">,
  I32EnumAttrCase<"Dot", 3, "dot">
]> {
  let cppNamespace = "::cascade";
  let genSpecializedAttr = 0;
}

// `[6, 2, 8]`.
def Cascade_BracketedInts : OptionalArrayRefParameter<"int64_t"> {
  let printer = [{ ::cascade::printBracketedInts($_printer, $_self) }];
  let parser = [{ ::cascade::parseBracketedInts($_parser) }];
}

def Cascade_LoweringConfigAttr : AttrDef<Cascade_Dialect, "LoweringConfig"> {
  let mnemonic = "lowering";
  let summary = "How one equation executes (the strategy's decision)";
  let description = [{
    Set on each `cascade.einsum` of a model function by
    `cascade-choose-strategy` (discardable attribute `cascade.lowering`), read
    by `cascade-lower-to-loops`:

    - `execution`: `nest` (the generic loop nest in the default order),
      `scheduled_nest` (the nest the schedule describes), `kernel` (a
      register-tiled contraction micro-kernel), `tiled_kernel` (the
      schedule's tile loops around the micro-kernel), `transpose_kernel`
      (register-transposed blocks), `in_producer` (computed as its
      producer stores its values, from the kernel's registers or the nest's
      results; the producer names it as `epilogue`),
      `init_folded` (a constant stored by its recurrence's init copy).
    - `parallel`: the nest's outer loop, or the kernel's, runs on the thread
      pool.
    - `kernel`, `register_tile` (`[rows, vector columns, lanes]`), `kc`
      (reduction block, 0: none): the micro-kernel's shape.
    - `steps`: the recurrence group (one loop over its iterative index) the
      equation is a step of; `fused`: the group whose shared outer loops
      enclose it (a schedule's `fuse` group, or the default heuristic's
      group around a recurrence group); `shared`: the default group's
      shared loops, `"H"` (one index per iteration) or `"P/64"` (tiles of
      64).
    - `epilogue`: the elementwise equation computed in this kernel's stores.
    - `reason`: why a contraction got no micro-kernel.
    - `skip_masked`: on the scores of a one-pass recurrence group (the
      `where(pred, ..., -inf)` its local maximum reduces, marked
      `cascade.masked_step_identity` by cascade-one-pass): the group's loop
      runs a step only when some score of it is visible
      (passes/Conversion/MaskedSteps.h).
  }];
  let parameters = (ins
    EnumParameter<Cascade_Execution>:$execution,
    DefaultValuedParameter<"bool", "false">:$parallel,
    DefaultValuedParameter<"::cascade::KernelForm",
                           "::cascade::KernelForm::None">:$kernel,
    Cascade_BracketedInts:$register_tile,
    DefaultValuedParameter<"int64_t", "0">:$kc,
    StringRefParameter<"recurrence group", [{""}]>:$steps,
    StringRefParameter<"fused group", [{""}]>:$fused,
    OptionalParameter<"::mlir::ArrayAttr">:$shared,
    StringRefParameter<"epilogue equation", [{""}]>:$epilogue,
    StringRefParameter<"why no kernel", [{""}]>:$reason,
    DefaultValuedParameter<"bool", "false">:$skip_masked
  );
  let assemblyFormat = "`<` struct(params) `>`";
}

#endif // CASCADE_ATTRS_TD
