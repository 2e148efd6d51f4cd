/* A variant that exists only in the test build (tests/meson.build compiles
 * attention/variants.c with ATTN_TEST_VARIANTS naming this file): one table row and nothing
 * else, to show that a row is all a new variant needs. Its cell is the paper's data path with
 * its own g(y) (µA), and its own window and tile by default.
 * tests/test_variant_added_in_table.py reads the numbers below. */
static const double stand_in_g_ua[4] = {0.3, 15.0, 0.0, 30.0};

static void stand_in_defaults(attn_config *c)
{
    c->window = 48;
    c->tile = 16;
}

static const attn_variant_type attn_stand_in = {
    "stand-in", "test-only: the paper's data path with g(y) = 0.3 + 15 y + 30 y^3 uA",
    ATTN_ENGINE_POLY, 1, stand_in_g_ua, stand_in_defaults};

#define ATTN_TEST_VARIANT_ROWS &attn_stand_in,
