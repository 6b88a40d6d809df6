/* A valid shared object that exports no portico_plugin_v1 symbol. */
__attribute__((visibility("default"))) int not_a_portico_plugin(void) { return 42; }
