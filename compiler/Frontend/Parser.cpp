//===- Parser.cpp - Parser of .ein files ----------------------------------===//
//
// A recursive-descent parser. Each statement sits on its own line; after a
// syntax error the parser reports it and resumes at the next line, so one
// run reports every malformed statement.
//
//===----------------------------------------------------------------------===//
#include "compiler/Frontend/Parser.h"
#include "llvm/ADT/StringSwitch.h"
#include <limits>

using namespace cascade;
using namespace cascade::ast;

ExprPtr Expr::clone() const {
  auto e = std::make_unique<Expr>();
  e->kind = kind;
  e->loc = loc;
  e->number = number;
  e->isInteger = isInteger;
  e->name = name;
  e->op = op;
  e->hasBrackets = hasBrackets;
  for (const ExprPtr &a : args)
    e->args.push_back(a->clone());
  return e;
}

Equation Equation::clone() const {
  Equation e;
  e.loc = loc;
  e.isInit = isInit;
  e.name = name;
  for (const ExprPtr &x : lhs)
    e.lhs.push_back(x->clone());
  e.rhs = rhs->clone();
  e.hasReduceSpec = hasReduceSpec;
  e.reduceOp = reduceOp;
  e.reduced = reduced;
  return e;
}

namespace {

/// Thrown-free error propagation: every parse function returns false after
/// reporting, and the statement loop resynchronizes.
class Parser {
public:
  Parser(llvm::StringRef buffer, const DiagFn &diag)
      : lexer(buffer), diag(diag) {
    advance();
  }

  bool parse(Module &m) {
    while (tok.kind != Tok::Eof) {
      if (tok.kind == Tok::Newline) {
        advance();
        continue;
      }
      if (!parseTopStatement(m))
        recover();
    }
    return !failed;
  }

private:
  // --- token helpers ------------------------------------------------------
  void advance() {
    tok = lexer.next();
    // Report bad characters and skip them, so the rest of the line still
    // parses into a meaningful follow-up error or none.
    while (tok.kind == Tok::Error) {
      error(tok.loc, lexer.errorMessage());
      tok = lexer.next();
    }
  }
  bool error(llvm::SMLoc loc, const llvm::Twine &msg) {
    diag(loc, msg, false);
    failed = true;
    return false;
  }
  bool expected(const llvm::Twine &what) {
    std::string got = tok.kind == Tok::Ident || tok.kind == Tok::Number
                          ? "'" + tok.text.str() + "'"
                          : tokSpelling(tok.kind);
    return error(tok.loc, "expected " + what + ", got " + got);
  }
  bool consume(Tok kind) {
    if (tok.kind != kind)
      return false;
    advance();
    return true;
  }
  bool expect(Tok kind, const char *context = nullptr) {
    if (consume(kind))
      return true;
    return expected(llvm::Twine(tokSpelling(kind)) +
                    (context ? llvm::Twine(" ") + context : llvm::Twine()));
  }
  bool isIdent(llvm::StringRef text) const {
    return tok.kind == Tok::Ident && tok.text == text;
  }
  bool parseName(Name &out, const char *what) {
    if (tok.kind != Tok::Ident)
      return expected(what);
    out = {tok.text.str(), tok.loc};
    advance();
    return true;
  }
  bool endOfStatement() {
    if (tok.kind == Tok::Newline || tok.kind == Tok::Eof ||
        tok.kind == Tok::RBrace)
      return true;
    return expected("end of statement");
  }
  /// Skips the rest of the current line (and a whole `{...}` block opened on
  /// it).
  void recover() {
    int depth = 0;
    while (tok.kind != Tok::Eof) {
      if (tok.kind == Tok::LBrace)
        ++depth;
      if (tok.kind == Tok::RBrace && depth > 0)
        --depth;
      if (tok.kind == Tok::Newline && depth == 0)
        break;
      advance();
    }
  }

  // --- statements ---------------------------------------------------------
  bool parseTopStatement(Module &m) {
    if (isIdent("model")) {
      advance();
      Name n;
      if (!parseName(n, "model name"))
        return false;
      if (m.modelName)
        return error(n.loc, "model name given twice");
      m.modelName = n;
      return endOfStatement();
    }
    if (isIdent("ranks"))
      return parseRanks(m);
    if (isIdent("const"))
      return parseConsts(m);
    if (isIdent("weights")) {
      advance();
      if (tok.kind != Tok::String)
        return expected("a file name in quotes");
      if (m.weightsFile)
        return error(tok.loc, "default weights file given twice");
      m.weightsFile = Name{tok.str, tok.loc};
      advance();
      return endOfStatement();
    }
    if (isIdent("input")) {
      TensorDecl d;
      if (!parseTensorDecl(d))
        return false;
      m.inputs.push_back(std::move(d));
      return endOfStatement();
    }
    if (isIdent("output")) {
      advance();
      do {
        Name n;
        if (!parseName(n, "output tensor name"))
          return false;
        m.outputs.push_back(n);
      } while (consume(Tok::Comma));
      return endOfStatement();
    }
    if (isIdent("def"))
      return parseDef(m);
    if (isIdent("schedule"))
      return parseSchedule(m);
    return parseBodyStatement(m.body);
  }

  bool parseBodyStatement(Body &body) {
    if (isIdent("weight")) {
      TensorDecl d;
      if (!parseTensorDecl(d))
        return false;
      body.weights.push_back(std::move(d));
      return endOfStatement();
    }
    for (const char *kw : {"model", "ranks", "const", "weights", "input",
                           "output", "def", "schedule"})
      if (isIdent(kw))
        return error(tok.loc, llvm::Twine("'") + kw +
                                  "' is not allowed inside a def body");
    return parseEquationOrCall(body);
  }

  bool parseRanks(Module &m) {
    advance();
    do {
      RankDecl r;
      if (!parseName(r.name, "rank name"))
        return false;
      if (!expect(Tok::Assign, "after the rank name"))
        return false;
      if (tok.kind == Tok::Question) {
        advance(); // value stays null: rejected by the model builder
      } else if (!(r.value = parseExpr())) {
        return false;
      }
      m.declOrder.push_back({true, m.ranks.size()});
      m.ranks.push_back(std::move(r));
    } while (consume(Tok::Comma));
    return endOfStatement();
  }

  bool parseConsts(Module &m) {
    advance();
    do {
      ConstDecl c;
      if (!parseName(c.name, "constant name"))
        return false;
      if (!expect(Tok::Assign, "after the constant name"))
        return false;
      if (!(c.value = parseExpr()))
        return false;
      m.declOrder.push_back({false, m.consts.size()});
      m.consts.push_back(std::move(c));
    } while (consume(Tok::Comma));
    return endOfStatement();
  }

  bool parseDimList(std::vector<Name> &dims) {
    if (!expect(Tok::LBracket))
      return false;
    if (tok.kind != Tok::RBracket) {
      do {
        Name n;
        if (!parseName(n, "rank name"))
          return false;
        dims.push_back(n);
      } while (consume(Tok::Comma));
    }
    return expect(Tok::RBracket, "to close the dimension list");
  }

  bool parseTensorDecl(TensorDecl &d) {
    d.role = tok.text == "input" ? TensorDecl::Input : TensorDecl::Weight;
    advance();
    if (!parseName(d.name, "tensor name") || !parseDimList(d.dims))
      return false;
    if (!expect(Tok::Colon, "before the element type") ||
        !parseName(d.dtype, "element type"))
      return false;
    if (d.role == TensorDecl::Input)
      return true;
    if (!consume(Tok::Assign))
      return error(tok.loc, "expected '=' and the weight's key in quotes");
    if (tok.kind != Tok::String)
      return expected("the weight's key in quotes");
    d.key = tok.str;
    advance();
    if (consume(Tok::Colon)) {
      if (tok.kind != Tok::String)
        return expected("the weight's key in quotes after the file name");
      d.file = d.key;
      d.key = tok.str;
      advance();
    }
    return true;
  }

  bool parseParam(Param &p) {
    return parseName(p.name, "tensor name") && parseDimList(p.dims);
  }

  bool parseDef(Module &m) {
    advance();
    Def d;
    if (!parseName(d.name, "layer name") || !expect(Tok::LParen))
      return false;
    if (tok.kind != Tok::RParen) {
      do {
        Param p;
        if (!parseParam(p))
          return false;
        d.params.push_back(std::move(p));
      } while (consume(Tok::Comma));
    }
    if (!expect(Tok::RParen) || !expect(Tok::Arrow, "and the layer's results"))
      return false;
    do {
      Param p;
      if (!parseParam(p))
        return false;
      d.results.push_back(std::move(p));
    } while (consume(Tok::Comma));
    if (!expect(Tok::LBrace, "to open the layer body"))
      return false;
    while (tok.kind != Tok::RBrace) {
      if (tok.kind == Tok::Eof)
        return error(d.name.loc,
                     "layer '" + d.name.text + "' has no closing '}'");
      if (tok.kind == Tok::Newline) {
        advance();
        continue;
      }
      if (!parseBodyStatement(d.body)) {
        recover();
        continue;
      }
    }
    advance(); // '}'
    m.defs.push_back(std::move(d));
    return endOfStatement();
  }

  /// `schedule { directive* }`; each directive on its own line.
  bool parseSchedule(Module &m) {
    llvm::SMLoc loc = tok.loc;
    advance();
    if (!expect(Tok::LBrace, "to open the schedule block"))
      return false;
    if (m.scheduleLoc)
      return error(loc, "a model has at most one schedule block");
    m.scheduleLoc = loc;
    while (tok.kind != Tok::RBrace) {
      if (tok.kind == Tok::Eof)
        return error(loc, "schedule block has no closing '}'");
      if (tok.kind == Tok::Newline) {
        advance();
        continue;
      }
      Directive d;
      if (!parseDirective(d)) {
        // Resume at the next line of the block.
        while (tok.kind != Tok::Newline && tok.kind != Tok::RBrace &&
               tok.kind != Tok::Eof)
          advance();
        continue;
      }
      m.schedule.push_back(std::move(d));
    }
    advance(); // '}'
    return endOfStatement();
  }

  bool parseNumber(Directive &d, const char *what) {
    if (tok.kind != Tok::Number || !tok.isInteger || tok.number < 1)
      return expected(what);
    // Tiles, extents and factors: no more than any extent can be (and
    // representable before the checks against the model's ranks).
    if (tok.number > (double)std::numeric_limits<int32_t>::max())
      return error(tok.loc, "the number is too large (at most 2147483647)");
    d.numberLoc = tok.loc;
    d.numbers.push_back((int64_t)tok.number);
    advance();
    return true;
  }

  bool parseNameList(Directive &d, const char *what) {
    do {
      Name n;
      if (!parseName(n, what))
        return false;
      d.names.push_back(n);
    } while (consume(Tok::Comma));
    return true;
  }

  bool parseDirective(Directive &d) {
    if (!parseName(d.kind, "a schedule directive"))
      return false;
    llvm::StringRef k = d.kind.text;
    if (k == "rewrite") {
      Name what;
      if (!parseName(what, "defer_division or one_pass(RANK)"))
        return false;
      d.names.push_back(what);
      if (what.text == "one_pass") {
        if (!expect(Tok::LParen, "after one_pass"))
          return false;
        Name rank;
        if (!parseName(rank, "the rank to make one pass over"))
          return false;
        d.names.push_back(rank);
        if (!expect(Tok::RParen, "after the rank"))
          return false;
        if (isIdent("tile")) {
          advance();
          if (!parseNumber(d, "a positive tile size"))
            return false;
        }
      }
    } else if (k == "split") {
      Name rank, outer, inner;
      if (!parseName(rank, "the rank to split") ||
          !expect(Tok::Arrow, "after the rank") ||
          !parseName(outer, "the outer rank's name") || !expect(Tok::Comma) ||
          !parseName(inner, "the inner rank's name") ||
          !expect(Tok::Assign, "and the inner extent") ||
          !parseNumber(d, "a positive inner extent"))
        return false;
      d.names = {rank, outer, inner};
    } else if (k == "fuse") {
      Name first, last, group;
      if (!parseName(first, "the first equation of the group"))
        return false;
      if (!consume(Tok::DotDot))
        return expected("'..' between the first and last equation");
      if (!parseName(last, "the last equation of the group"))
        return false;
      if (!isIdent("as"))
        return expected("'as' and the group's name");
      advance();
      if (!parseName(group, "the group's name"))
        return false;
      d.names = {first, last, group};
    } else if (k == "order") {
      Name target;
      if (!parseName(target, "an equation or fused group") ||
          !expect(Tok::Colon, "after the equation or group"))
        return false;
      d.names.push_back(target);
      if (!parseNameList(d, "a rank"))
        return false;
    } else if (k == "parallel" || k == "vectorize") {
      if (!parseNameList(d, "a rank"))
        return false;
    } else if (k == "unroll") {
      Name rank;
      if (!parseName(rank, "the rank to unroll") ||
          !expect(Tok::Assign, "and the unroll factor") ||
          !parseNumber(d, "a positive unroll factor"))
        return false;
      d.names.push_back(rank);
    } else if (k == "bind") {
      do {
        Name rank, unit;
        if (!parseName(rank, "a rank") || !expect(Tok::Arrow) ||
            !parseName(unit, "block or thread"))
          return false;
        if (unit.text != "block" && unit.text != "thread")
          return error(unit.loc, "bind maps a rank to 'block' or 'thread'");
        d.names.push_back(rank);
        d.names.push_back(unit);
      } while (consume(Tok::Comma));
    } else {
      return error(d.kind.loc,
                   "unknown schedule directive '" + k +
                       "' (expected rewrite, split, fuse, order, parallel, "
                       "vectorize, unroll or bind)");
    }
    if (tok.kind == Tok::Newline || tok.kind == Tok::RBrace)
      return true;
    return expected("end of the directive");
  }

  bool parseEquationOrCall(Body &body) {
    Equation eq;
    eq.loc = tok.loc;
    if (isIdent("init")) {
      eq.isInit = true;
      advance();
    }
    if (!parseName(eq.name,
                   eq.isInit ? "tensor name after 'init'" : "a statement"))
      return false;
    // `A, B = layer(X) prefix "p"`: a call with several results.
    if (!eq.isInit && tok.kind == Tok::Comma) {
      Call call;
      call.loc = eq.loc;
      call.results.push_back(eq.name);
      while (consume(Tok::Comma)) {
        Name n;
        if (!parseName(n, "result tensor name"))
          return false;
        call.results.push_back(n);
      }
      if (!expect(Tok::Assign))
        return false;
      return parseCallRest(call, body);
    }
    if (tok.kind == Tok::LBracket) {
      advance();
      if (tok.kind != Tok::RBracket) {
        do {
          ExprPtr e = parseExpr();
          if (!e)
            return false;
          eq.lhs.push_back(std::move(e));
        } while (consume(Tok::Comma));
      }
      if (!expect(Tok::RBracket, "to close the index list"))
        return false;
    } else if (tok.kind == Tok::Assign && !eq.isInit) {
      // `Y = layer(X)` or a scalar equation `S = ...`.
      advance();
      if (tok.kind == Tok::Ident && !isBuiltinName(tok.text)) {
        Token save = tok;
        Lexer saveLexer = lexer;
        advance();
        if (tok.kind == Tok::LParen) {
          Call call;
          call.loc = eq.loc;
          call.results.push_back(eq.name);
          tok = save;
          lexer = saveLexer;
          return parseCallRest(call, body);
        }
        tok = save;
        lexer = saveLexer;
      }
      return parseEquationRest(eq, body);
    }
    if (!expect(Tok::Assign, "after the left-hand side"))
      return false;
    return parseEquationRest(eq, body);
  }

  static bool isBuiltinName(llvm::StringRef n) {
    return llvm::StringSwitch<bool>(n)
        .Cases({"exp", "log", "sqrt", "rsqrt", "tanh", "erf", "sigmoid", "relu",
                "silu", "gelu", "gelu_tanh", "abs", "recip", "pow", "max",
                "min", "where", "trunc", "round_f16", "round_bf16"},
               true)
        .Default(false);
  }

  bool parseCallRest(Call &call, Body &body) {
    if (!parseName(call.callee, "layer name") || !expect(Tok::LParen))
      return false;
    if (tok.kind != Tok::RParen) {
      do {
        Name n;
        if (!parseName(n, "tensor name as a layer argument"))
          return false;
        call.args.push_back(n);
      } while (consume(Tok::Comma));
    }
    if (!expect(Tok::RParen, "to close the layer arguments"))
      return false;
    if (isIdent("prefix")) {
      advance();
      if (tok.kind != Tok::String)
        return expected("a key prefix in quotes");
      call.prefix = tok.str;
      advance();
    }
    body.calls.push_back(std::move(call));
    return endOfStatement();
  }

  bool parseEquationRest(Equation &eq, Body &body) {
    if (!(eq.rhs = parseExpr()))
      return false;
    if (tok.kind == Tok::ColonColon) {
      advance();
      eq.hasReduceSpec = true;
      eq.reduceOp.loc = tok.loc;
      if (tok.kind == Tok::Plus || tok.kind == Tok::Star ||
          tok.kind == Tok::Ident) {
        eq.reduceOp.text = tok.text.str();
        advance();
      } else {
        return expected("a reduction operator (+ max min *)");
      }
      if (!expect(Tok::LParen, "after the reduction operator"))
        return false;
      do {
        Name n;
        if (!parseName(n, "a reduced index"))
          return false;
        eq.reduced.push_back(n);
      } while (consume(Tok::Comma));
      if (!expect(Tok::RParen, "to close the reduced indices"))
        return false;
    }
    if (!endOfStatement())
      return false;
    body.equations.push_back(std::move(eq));
    return true;
  }

  // --- expressions --------------------------------------------------------
  ExprPtr make(Expr::Kind kind, llvm::SMLoc loc) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->loc = loc;
    return e;
  }

  /// expr := comparison-free sum; comparisons are parsed by parseCondition.
  ExprPtr parseExpr() {
    ExprPtr lhs = parseTerm();
    while (lhs && (tok.kind == Tok::Plus || tok.kind == Tok::Minus)) {
      auto e = make(Expr::Binary, tok.loc);
      e->op = tok.kind == Tok::Plus ? "+" : "-";
      advance();
      ExprPtr rhs = parseTerm();
      if (!rhs)
        return nullptr;
      e->args.push_back(std::move(lhs));
      e->args.push_back(std::move(rhs));
      lhs = std::move(e);
    }
    return lhs;
  }

  ExprPtr parseTerm() {
    ExprPtr lhs = parseUnary();
    while (lhs && (tok.kind == Tok::Star || tok.kind == Tok::Slash)) {
      auto e = make(Expr::Binary, tok.loc);
      e->op = tok.kind == Tok::Star ? "*" : "/";
      advance();
      ExprPtr rhs = parseUnary();
      if (!rhs)
        return nullptr;
      e->args.push_back(std::move(lhs));
      e->args.push_back(std::move(rhs));
      lhs = std::move(e);
    }
    return lhs;
  }

  ExprPtr parseUnary() {
    // Every level of nesting passes through here: bound the recursion so
    // no input can exhaust the stack.
    if (++depth > kMaxDepth) {
      error(tok.loc, "expression is nested too deeply");
      --depth;
      return nullptr;
    }
    struct DepthGuard {
      int &d;
      ~DepthGuard() { --d; }
    } guard{depth};
    if (tok.kind == Tok::Minus) {
      auto e = make(Expr::Neg, tok.loc);
      advance();
      ExprPtr x = parseUnary();
      if (!x)
        return nullptr;
      e->args.push_back(std::move(x));
      return e;
    }
    if (tok.kind == Tok::Plus) { // unary plus: no-op
      advance();
      return parseUnary();
    }
    return parsePrimary();
  }

  ExprPtr parsePrimary() {
    if (tok.kind == Tok::Number) {
      auto e = make(Expr::Number, tok.loc);
      e->number = tok.number;
      e->isInteger = tok.isInteger;
      advance();
      return e;
    }
    if (tok.kind == Tok::LParen) {
      advance();
      ExprPtr e = parseExpr();
      if (!e)
        return nullptr;
      if (!expect(Tok::RParen, "to close the parenthesis"))
        return nullptr;
      return e;
    }
    if (tok.kind != Tok::Ident) {
      expected("an expression");
      return nullptr;
    }
    Token name = tok;
    advance();
    if (tok.kind == Tok::LBracket) {
      auto e = make(Expr::Access, name.loc);
      e->name = name.text.str();
      advance();
      if (tok.kind != Tok::RBracket) {
        do {
          ExprPtr idx = parseExpr();
          if (!idx)
            return nullptr;
          e->args.push_back(std::move(idx));
        } while (consume(Tok::Comma));
      }
      if (!expect(Tok::RBracket, "to close the index list"))
        return nullptr;
      return e;
    }
    if (tok.kind == Tok::LParen) {
      auto e = make(Expr::Call, name.loc);
      e->name = name.text.str();
      advance();
      if (tok.kind != Tok::RParen) {
        bool first = true;
        do {
          ExprPtr arg =
              (first && e->name == "where") ? parseCondition() : parseExpr();
          first = false;
          if (!arg)
            return nullptr;
          e->args.push_back(std::move(arg));
        } while (consume(Tok::Comma));
      }
      if (!expect(Tok::RParen, "to close the argument list"))
        return nullptr;
      return e;
    }
    auto e = make(Expr::Ident, name.loc);
    e->name = name.text.str();
    return e;
  }

  /// cond := expr CMP expr
  ExprPtr parseCondition() {
    llvm::SMLoc start = tok.loc;
    ExprPtr lhs = parseExpr();
    if (!lhs)
      return nullptr;
    const char *op = nullptr;
    switch (tok.kind) {
    case Tok::Lt:
      op = "<";
      break;
    case Tok::Le:
      op = "<=";
      break;
    case Tok::Gt:
      op = ">";
      break;
    case Tok::Ge:
      op = ">=";
      break;
    case Tok::EqEq:
      op = "==";
      break;
    case Tok::Ne:
      op = "!=";
      break;
    case Tok::Assign:
      error(tok.loc, "malformed where condition: use '==' to compare indices");
      return nullptr;
    default:
      error(start, "malformed where condition: expected a comparison of two "
                   "index expressions (< <= > >= == !=)");
      return nullptr;
    }
    auto e = make(Expr::Compare, tok.loc);
    e->op = op;
    advance();
    ExprPtr rhs = parseExpr();
    if (!rhs)
      return nullptr;
    e->args.push_back(std::move(lhs));
    e->args.push_back(std::move(rhs));
    return e;
  }

  static constexpr int kMaxDepth = 256;
  Lexer lexer;
  Token tok;
  const DiagFn &diag;
  bool failed = false;
  int depth = 0;
};

} // namespace

bool cascade::parseModule(llvm::StringRef buffer, Module &module,
                          const DiagFn &diag) {
  Parser p(buffer, diag);
  return p.parse(module);
}
