#!/usr/bin/env python3
"""Static check of the spack recipe spack/packages/galore-kokkos/package.py (spack not needed).

Byte-compiles the recipe, then reads it with the ast module: the class must derive from
CMakePackage and CudaPackage and declare the variants, versions and dependencies the install
docs promise; cmake_args() must forward every GALORE_ENABLE_* option of the top-level
CMakeLists.txt, map each feature variant onto its option, point CMake at Kokkos and compile +cuda
builds with Kokkos' compiler wrapper. The galore-kokkos specs in spack/environments/*.yaml may use
only variants the recipe declares.

usage: check_package.py [package.py [CMakeLists.txt]]    (defaults: this checkout's files)
"""
import ast
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
REQUIRED_VARIANTS = {"cuda", "openmp", "mpi", "hdf5", "tests"}  # cuda comes from CudaPackage
REQUIRED_DEPENDENCIES = {"kokkos", "blas", "lapack", "hdf5", "mpi", "catch2", "fmt",
                         "nlohmann-json", "tomlplusplus", "cli11", "cmake"}
VARIANT_OPTIONS = {"GALORE_ENABLE_MPI": "mpi", "GALORE_ENABLE_HDF5": "hdf5",
                   "GALORE_ENABLE_CUDA_KERNELS": "cuda"}


def literal_prefix(node):
    """The literal text a spec argument starts with: "a", "a {0}".format(x), f"a{x}"."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return literal_prefix(node.func.value)  # "...".format(...)
    if isinstance(node, ast.JoinedStr) and node.values:
        return literal_prefix(node.values[0])
    return ""


def calls(tree, name):
    return [n for n in ast.walk(tree)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == name]


def keyword(call, name):
    for kw in call.keywords:
        if kw.arg == name:
            return literal_prefix(kw.value)
    return None


def check(package_path, cmakelists_path):
    source = package_path.read_text()
    compile(source, str(package_path), "exec")  # byte-compile: syntax errors fail here
    tree = ast.parse(source, str(package_path))
    errors = []

    classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    recipe = next((c for c in classes if c.name == "GaloreKokkos"), None)
    if recipe is None:
        return ["no class GaloreKokkos (spack's name for package galore-kokkos)"]
    bases = {b.id for b in recipe.bases if isinstance(b, ast.Name)}
    for base in ("CMakePackage", "CudaPackage"):
        if base not in bases:
            errors.append(f"GaloreKokkos does not derive from {base}")

    variants = {literal_prefix(c.args[0]) for c in calls(recipe, "variant") if c.args}
    variants |= {"cuda"} if "CudaPackage" in bases else set()
    for missing in sorted(REQUIRED_VARIANTS - variants):
        errors.append(f"variant '{missing}' is not declared")

    versions = {(literal_prefix(c.args[0]), keyword(c, "branch"))
                for c in calls(recipe, "version") if c.args}
    if ("main", "main") not in versions:
        errors.append('version("main", branch="main") is not declared')

    dependencies = {}  # package name -> [(spec, when)]
    for call in calls(recipe, "depends_on"):
        spec = literal_prefix(call.args[0]) if call.args else ""
        name = re.match(r"[a-z0-9-]*", spec).group(0)
        dependencies.setdefault(name, []).append((spec, keyword(call, "when") or ""))
    for missing in sorted(REQUIRED_DEPENDENCIES - dependencies.keys()):
        errors.append(f"no depends_on('{missing}...')")

    def depends(name, spec_part, when_part):
        return any(spec_part in s and when_part in w for s, w in dependencies.get(name, []))

    for name, spec_part, when_part in [
            ("kokkos", "+openmp", "+openmp"),  # backends follow the variants
            ("kokkos", "+cuda", "+cuda cuda_arch="),  # cuda_arch forwarded
            ("kokkos", "+wrapper", "+cuda"),
            ("kokkos", "+cuda_lambda", "+cuda"),
            ("kokkos", "kokkos@3.4:", ""),
            ("mpi", "mpi", "+mpi"),
            ("hdf5", "hdf5~mpi", "~mpi"),  # HDF5's MPI matches ours
            ("hdf5", "hdf5+mpi", "+mpi")]:
        if not depends(name, spec_part, when_part):
            errors.append(f"no depends_on('{spec_part}...') when '{when_part}...'")

    cmake_args = next((f for f in ast.walk(recipe)
                       if isinstance(f, ast.FunctionDef) and f.name == "cmake_args"), None)
    if cmake_args is None:
        return errors + ["no cmake_args()"]
    strings = {n.value for n in ast.walk(cmake_args)
               if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    options = set(re.findall(r"\bGALORE_ENABLE_[A-Z0-9_]+", cmakelists_path.read_text()))
    for option in sorted(options | set(VARIANT_OPTIONS)):
        if option not in strings:
            errors.append(f"cmake_args() does not set {option}")
    from_variant = {tuple(literal_prefix(a) for a in c.args[:2])
                    for c in ast.walk(cmake_args)
                    if isinstance(c, ast.Call) and isinstance(c.func, ast.Attribute)
                    and c.func.attr == "define_from_variant"}
    for option, variant in VARIANT_OPTIONS.items():
        if (option, variant) not in from_variant:
            errors.append(f"cmake_args() does not map variant '{variant}' onto {option}")
    for needed in ("Kokkos_ROOT", "CMAKE_CXX_COMPILER", "CMAKE_CUDA_ARCHITECTURES"):
        if needed not in strings:
            errors.append(f"cmake_args() does not set {needed}")
    attributes = {n.attr for n in ast.walk(cmake_args) if isinstance(n, ast.Attribute)}
    if "kokkos_cxx" not in attributes:
        errors.append("cmake_args() does not use kokkos' compiler (spec['kokkos'].kokkos_cxx)")
    return errors + check_environments(package_path.parents[2] / "environments", variants)


def check_environments(folder, variants):
    """Every galore-kokkos spec in the spack environments uses only declared variants."""
    errors = []
    files = sorted(folder.glob("*.yaml"))
    if not files:
        errors.append(f"no spack environments in {folder}")
    for path in files:
        specs = re.findall(r"^\s*-\s*galore-kokkos\S*(.*)$", path.read_text(), re.MULTILINE)
        if not specs:
            errors.append(f"{path.name}: no galore-kokkos spec")
        for spec in specs:
            used = set(re.findall(r"[+~](\w+)", spec)) | set(re.findall(r"(\w+)=", spec))
            for unknown in sorted(used - variants - {"cuda_arch"}):
                errors.append(f"{path.name}: variant '{unknown}' is not declared by the recipe")
    return errors


def main(argv):
    default_package = ROOT / "spack" / "packages" / "galore-kokkos" / "package.py"
    package = pathlib.Path(argv[1]) if len(argv) > 1 else default_package
    cmakelists = pathlib.Path(argv[2]) if len(argv) > 2 else ROOT / "CMakeLists.txt"
    errors = check(package, cmakelists)
    for error in errors:
        print(f"{package}: {error}")
    print(f"{package.name}: {'FAILED' if errors else 'ok'} ({len(errors)} problems)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
