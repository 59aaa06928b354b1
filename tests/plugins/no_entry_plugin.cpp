// A shared object without coromq_create_plugin: loading it must fail with a clear error.
extern "C" int not_a_coromq_plugin() {
    return 42;
}
