# reelscale — the two quick-start commands and their parts.
#   make demo   install what is missing, build, run the main job on a bundled sample
#   make test   install what is missing, build, run every test
.PHONY: setup build demo test bench clean

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

clean:
	rm -rf build build-asan out
