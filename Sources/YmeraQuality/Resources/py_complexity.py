#!/usr/bin/env python3
"""YMERA's Python checker: syntax through Python's own compiler, cyclomatic complexity per function
through its own `ast` module. Prints one JSON object on stdout:

  {"python": "3.11.7",
   "syntax_error": null | {"line": N, "column": N, "message": "..."},
   "functions": [{"name": "Class.method", "line": N, "end_line": N, "complexity": N}, ...]}

Complexity is McCabe's, counted the way radon counts it: 1 per function, +1 for each if/elif, for,
while, except handler, with-less boolean operator chain (+ operands - 1), conditional expression,
comprehension `for` and its `if`s, `assert`, and each `case` of a match statement.
Nested functions and lambdas are scored on their own, not added to their parent.
"""
import ast
import json
import sys


class Complexity(ast.NodeVisitor):
    def __init__(self):
        self.score = 1

    def visit_If(self, node):
        self.score += 1
        self.generic_visit(node)

    def visit_IfExp(self, node):
        self.score += 1
        self.generic_visit(node)

    def visit_For(self, node):
        self.score += 1 + (1 if node.orelse else 0)
        self.generic_visit(node)

    visit_AsyncFor = visit_For

    def visit_While(self, node):
        self.score += 1 + (1 if node.orelse else 0)
        self.generic_visit(node)

    def visit_ExceptHandler(self, node):
        self.score += 1
        self.generic_visit(node)

    def visit_Try(self, node):
        if node.orelse:
            self.score += 1
        self.generic_visit(node)

    visit_TryStar = visit_Try

    def visit_BoolOp(self, node):
        self.score += len(node.values) - 1
        self.generic_visit(node)

    def visit_comprehension(self, node):
        self.score += 1 + len(node.ifs)
        self.generic_visit(node)

    def visit_Assert(self, node):
        self.score += 1
        self.generic_visit(node)

    def visit_match_case(self, node):
        self.score += 1
        self.generic_visit(node)

    # Nested scopes are measured separately.
    def visit_FunctionDef(self, node):
        pass

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):
        pass

    def visit_Lambda(self, node):
        pass


def functions(tree):
    out = []

    def walk(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                c = Complexity()
                for stmt in child.body:
                    c.visit(stmt)
                for d in child.args.defaults + child.args.kw_defaults:
                    if d is not None:
                        c.visit(d)
                name = prefix + child.name
                out.append({
                    "name": name,
                    "line": child.lineno,
                    "end_line": getattr(child, "end_lineno", child.lineno),
                    "complexity": c.score,
                })
                walk(child, name + ".")
            elif isinstance(child, ast.ClassDef):
                walk(child, prefix + child.name + ".")
            else:
                walk(child, prefix)

    walk(tree, "")
    return out


def main():
    path = sys.argv[1]
    with open(path, "rb") as f:
        source = f.read()
    result = {"python": sys.version.split()[0], "syntax_error": None, "functions": []}
    try:
        tree = ast.parse(source, filename=path)
        # compile() also catches what the parser accepts but the compiler refuses
        # (`return` outside a function, `nonlocal` at module level, ...). Nothing is executed.
        compile(tree, path, "exec", dont_inherit=True)
    except SyntaxError as e:
        result["syntax_error"] = {
            "line": e.lineno or 0,
            "column": e.offset or 0,
            "message": "%s: %s" % (type(e).__name__, e.msg),
        }
    except ValueError as e:  # null bytes
        result["syntax_error"] = {"line": 0, "column": 0, "message": "ValueError: %s" % e}
    else:
        result["functions"] = functions(tree)
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
