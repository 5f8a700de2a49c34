# `cmt train --dry-run` checks what needs only the dataset's metadata before it says the run is
# valid: a fold the dataset lacks, a batch larger than the fold's training part or an unknown
# positive class is a bad command line (exit 2, naming the key); a missing dataset file is a
# runtime error (exit 1, naming it). DATA: the tiny_dataset.sh fixture (2 folds, 3 training samples).
include(${CMAKE_CURRENT_LIST_DIR}/cmt_run.cmake)
set(tiny train --dataset ${DATA} --dry-run)
cmt_run(0 ${tiny} --batch-size 2)
cmt_expect_text("the configuration is valid" "a valid dry run" "${cmt_err}")
cmt_expect_text("has 2 folds and 3 classes; fold 0 trains on 3 samples" "a valid dry run" "${cmt_err}")
cmt_run(2 ${tiny} --batch-size 2 --fold 7)
cmt_expect_text("'fold' is 7 but ${DATA} has 2 folds" "--fold 7" "${cmt_err}")
cmt_run(2 ${tiny} --batch-size 4)
cmt_expect_text("'batch_size' is 4 but fold 0" "--batch-size 4" "${cmt_err}")
cmt_run(2 ${tiny} --batch-size 2 --positive-class flu)
cmt_expect_text("'positive_class' is 'flu', not a class" "--positive-class flu" "${cmt_err}")
cmt_run(1 train --dataset ${DATA}.missing --batch-size 2 --dry-run)
cmt_expect_text("${DATA}.missing" "a missing dataset" "${cmt_err}")
# The same checks guard a real run, before its folder is made.
cmt_run(2 train --dataset ${DATA} --batch-size 2 --fold 2 --out ${WORK}/never)
if(EXISTS ${WORK}/never)
  message(FATAL_ERROR "a refused run made its folder ${WORK}/never")
endif()
