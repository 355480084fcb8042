// Intentionally empty: the library's code comes from a package (see meson.build).
