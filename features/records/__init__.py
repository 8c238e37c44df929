"""Reading records: the files people bring into one `Corpus`, the open datasets, splits, TF-IDF."""
