# reelscale — the two quick-start commands and their parts.
#   make demo   install what is missing, build, run the main job on a bundled sample
#   make test   install what is missing, build, run every test
#   make fuzz   build the libFuzzer targets (clang) and run each for FUZZ_SECONDS
.PHONY: setup build demo test bench fuzz clean

setup:
	scripts/setup.sh

build: setup
	scripts/build.sh

demo: build
	scripts/demo.sh

test: build
	scripts/test.sh

bench: build
	scripts/bench.sh

fuzz: setup
	scripts/fuzz.sh

clean:
	rm -rf build build-asan build-fuzz out
