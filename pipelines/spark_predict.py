"""spark-submit entry point: `diplostance predict --engine spark` in the session spark-submit made.

    PYSPARK_PYTHON=/path/to/venv/bin/python spark-submit --master spark://HOST:7077 \
        pipelines/spark_predict.py INPUTS... --crisis ID --output OUT [--model URI]

Takes every option of `diplostance predict`; the master, executors and resources are
spark-submit's (docs/spark.md).
"""

import sys

from diplostance.cli import app

if __name__ == "__main__":
    app(["predict", "--engine", "spark", *sys.argv[1:]], prog_name="spark_predict.py")
