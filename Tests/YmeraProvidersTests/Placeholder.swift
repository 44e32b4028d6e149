// Tests for YmeraProviders live in this folder.
import Testing
