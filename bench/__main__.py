"""Run every benchmark."""

from bench import vocab_normalize

if __name__ == "__main__":
    vocab_normalize.main()
