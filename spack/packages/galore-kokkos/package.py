# Spack recipe for galore-kokkos: GaLore pretraining of LLaMA models on Kokkos.
#
# Kokkos supplies the backends: +openmp and +cuda (with cuda_arch) are forwarded to the kokkos
# dependency, and with +cuda the project is compiled by Kokkos' nvcc_wrapper, as spack's other
# Kokkos-based recipes do. The git URL below is a placeholder: set it to where the project is
# hosted, or build a local clone with `spack develop` (docs/install.md).
from spack.package import *

try:  # Spack >= 1.0 keeps the build systems in its builtin package repository
    from spack_repo.builtin.build_systems.cmake import CMakePackage
    from spack_repo.builtin.build_systems.cuda import CudaPackage
except ImportError:  # Spack 0.x exports them from spack.package
    pass


class GaloreKokkos(CMakePackage, CudaPackage):
    """GaLore (gradient low-rank projection) pretraining of LLaMA-architecture models: a C++
    library on Kokkos (OpenMP or CUDA) with OpenBLAS/LAPACKE and cuBLAS/cuSOLVER hot paths, and
    command-line tools for one workstation GPU or CPU cluster nodes."""

    homepage = "https://git.example.org/galore-kokkos"
    git = "https://git.example.org/galore-kokkos/galore-kokkos.git"

    version("main", branch="main")

    variant("openmp", default=True, description="Kokkos OpenMP backend for the host")
    variant("mpi", default=False, description="MPI data parallelism")
    variant("hdf5", default=True, description="HDF5 checkpoints and token datasets")
    variant("tests", default=False, description="Build the Catch2 test suite")

    depends_on("c", type="build")
    depends_on("cxx", type="build")
    depends_on("cmake@3.18:", type="build")

    # Kokkos with the matching backends. CudaPackage's cuda_arch is forwarded one value at a time
    # because Kokkos builds for a single GPU architecture.
    depends_on("kokkos@3.4:")
    depends_on("kokkos+openmp", when="+openmp")
    for _arch in CudaPackage.cuda_arch_values:
        depends_on(f"kokkos+cuda+wrapper cuda_arch={_arch}", when=f"+cuda cuda_arch={_arch}")
    depends_on("kokkos+cuda_lambda", when="+cuda ^kokkos@:4")  # always on from Kokkos 5
    conflicts("+cuda", when="cuda_arch=none", msg="+cuda needs a cuda_arch (89 for an RTX 4090)")

    # The LAPACK provider must ship LAPACKE (openblas does; netlib-lapack needs +lapacke).
    depends_on("blas")
    depends_on("lapack")
    depends_on("fmt")
    depends_on("nlohmann-json@3.9:")
    depends_on("tomlplusplus")
    depends_on("cli11")
    depends_on("mpi", when="+mpi")
    depends_on("hdf5~mpi", when="+hdf5~mpi")
    depends_on("hdf5+mpi", when="+hdf5+mpi")
    depends_on("catch2@2.13:", type="build", when="+tests")
    depends_on("catch2@2.13:", type="test")

    sanity_check_is_file = [join_path("include", "galore", "core", "tensor.hpp")]

    def cmake_args(self):
        spec = self.spec
        args = [
            self.define("Kokkos_ROOT", spec["kokkos"].prefix),
            self.define_from_variant("GALORE_ENABLE_MPI", "mpi"),
            self.define_from_variant("GALORE_ENABLE_HDF5", "hdf5"),
            self.define_from_variant("GALORE_ENABLE_CUDA_KERNELS", "cuda"),
            self.define("GALORE_ENABLE_TESTS", spec.satisfies("+tests") or self.run_tests),
            self.define("GALORE_ENABLE_BENCHMARKS", False),
        ]
        if spec.satisfies("+cuda"):
            cuda_archs = ";".join(spec.variants["cuda_arch"].value)
            args += [
                self.define("CMAKE_CXX_COMPILER", spec["kokkos"].kokkos_cxx),
                self.define("CMAKE_CUDA_COMPILER", join_path(spec["cuda"].prefix.bin, "nvcc")),
                self.define("CMAKE_CUDA_ARCHITECTURES", cuda_archs),
            ]
        return args
